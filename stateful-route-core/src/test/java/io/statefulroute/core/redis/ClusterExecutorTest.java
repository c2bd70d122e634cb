package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.statefulroute.core.TestRedis;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The executor contract on a 3-master Redis Cluster: any script whose keys spanned two hash
 * slots would fail here with CROSSSLOT.
 */
class ClusterExecutorTest extends StatefulExecutorContract {

    private RedisCluster cluster;

    @Override
    TestRedis startRedis() {
        this.cluster = RedisServers.cluster().start();
        return TestRedis.on(this.cluster).owning(this.cluster);
    }

    /**
     * The nodes' clocks differ in production (here they share one machine's): each link's
     * expiry is Redis' own, on the node that holds it, so a batch needs no clock at all.
     */
    @Test
    void batchReadsEachLinkOnTheNodeThatHoldsItAndRedisExpiresThem() {
        List<String> users = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            users.add("u" + i);
            this.executor.setLinkedPod(this.ns, "u" + i, "chat", i % 3, (i % 2 == 0) ? FOREVER : 1);
        }
        assertThat(this.executor.batchGetLinkedPod(this.ns, users, "chat").values().stream().mapToInt(List::size).sum())
            .isEqualTo(60);
        List<Long> getCalls = commandCalls("get");
        List<Long> scriptCalls = commandCalls("evalsha");

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            Map<Integer, List<String>> byPod = this.executor.batchGetLinkedPod(this.ns, users, "chat");
            assertThat(byPod.values().stream().mapToInt(List::size).sum()).as("the persistent links only").isEqualTo(30);
            assertThat(byPod.get(0)).contains("u0", "u6").doesNotContain("u3");
        });

        // one plain GET per link on the master that holds it: no script, no clock
        List<Long> getsNow = commandCalls("get");
        List<Long> scriptsNow = commandCalls("evalsha");
        for (int master = 0; master < getCalls.size(); master++) {
            assertThat(getsNow.get(master) - getCalls.get(master)).as("GETs on master %d", master).isPositive();
            assertThat(scriptsNow.get(master)).as("scripts on master %d", master).isEqualTo(scriptCalls.get(master));
        }
    }

    /** Calls of a command on each master, from INFO commandstats. */
    private List<Long> commandCalls(String command) {
        List<Long> calls = new ArrayList<>();
        Pattern stat = Pattern.compile("cmdstat_" + command + ":calls=(\\d+)");
        for (RedisServer master : this.cluster.masters()) {
            RedisClient client = RedisClient.create(RedisURI.create(master.host(), master.port()));
            try (StatefulRedisConnection<String, String> connection = client.connect()) {
                Matcher matcher = stat.matcher(connection.sync().info("commandstats"));
                calls.add(matcher.find() ? Long.parseLong(matcher.group(1)) : 0);
            }
            finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }
        }
        return calls;
    }
}
