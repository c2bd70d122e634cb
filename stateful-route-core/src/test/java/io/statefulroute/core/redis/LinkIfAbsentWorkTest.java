package io.statefulroute.core.redis;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.lettuce.core.api.sync.RedisCommands;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * What {@code link_if_absent} asks of Redis in each case, counted by the server itself
 * ({@code INFO commandstats}), and that the cheaper paths keep the hash and its expiry right.
 */
class LinkIfAbsentWorkTest {

    private static final String NS = "ns";

    private RedisServer server;

    private TestRedis redis;

    private StatefulExecutor executor;

    private RedisCommands<String, String> admin;

    private final RouteKeys keys = new RouteKeys("test");

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
        this.executor = this.redis.executor();
        this.admin = this.redis.sync();
        // loads the script, so the counted call is an EVALSHA only
        this.executor.setLinkedPodIfAbsent(NS, "warm-up", "chat", 0, 300);
    }

    @AfterEach
    void stop() {
        this.redis.close();
        this.server.close();
    }

    @Test
    void aNewUserCostsOneReadOneWriteAndTheKeysExpiry() {
        this.admin.configResetstat();

        LinkInfo link = this.executor.setLinkedPodIfAbsent(NS, "new", "chat", 2, 300);

        assertThat(link.created()).isTrue();
        assertThat(scriptCommands()).containsExactlyInAnyOrderEntriesOf(
                Map.of("time", 1L, "hgetall", 1L, "hset", 1L, "pexpireat", 1L));
        String key = this.keys.links(NS, "new");
        assertThat(this.admin.hget(key, "chat")).startsWith("2:");
        assertThat(this.admin.pttl(key)).isCloseTo(300_000L, within(5_000L));
    }

    @Test
    void anExistingLinkIsAnsweredFromTheSameSingleRead() {
        this.executor.setLinkedPodIfAbsent(NS, "known", "chat", 1, 300);
        this.admin.configResetstat();

        LinkInfo link = this.executor.setLinkedPodIfAbsent(NS, "known", "chat", 2, 300);

        assertThat(link.created()).isFalse();
        assertThat(link.podIndex()).isEqualTo(1);
        assertThat(scriptCommands()).containsExactlyInAnyOrderEntriesOf(Map.of("time", 1L, "hgetall", 1L));
    }

    @Test
    void aUserWithOtherLinksHasTheExpiredOnesDroppedAndKeepsTheLongestLife() {
        String key = this.keys.links(NS, "busy");
        this.executor.setLinkedPod(NS, "busy", "game", 3, 3_600);
        // a link that expired a minute ago, still in the hash because "game" keeps the key alive
        long now = this.executor.getServiceState(NS, "nothing").readTimeMillis();
        this.admin.hset(key, "lobby", "4:" + (now - 60_000));
        this.admin.configResetstat();

        LinkInfo link = this.executor.setLinkedPodIfAbsent(NS, "busy", "chat", 2, 300);

        assertThat(link.created()).isTrue();
        assertThat(this.admin.hkeys(key)).containsExactlyInAnyOrder("game", "chat");
        assertThat(this.admin.pttl(key)).isCloseTo(3_600_000L, within(5_000L));
        assertThat(scriptCommands()).doesNotContainKey("hget").containsEntry("hgetall", 1L);
    }

    @Test
    void aPersistentLinkOfAnotherServiceKeepsTheKeyPersistent() {
        String key = this.keys.links(NS, "loyal");
        this.executor.setLinkedPod(NS, "loyal", "game", 3, RouteArguments.PERSIST_FOREVER);

        this.executor.setLinkedPodIfAbsent(NS, "loyal", "chat", 2, 300);

        assertThat(this.admin.pttl(key)).isEqualTo(-1L);
        assertThat(this.executor.getLinkService(NS, "loyal")).containsEntry("game", 3).containsEntry("chat", 2);
    }

    @Test
    void aDeadLinkOfTheSameServiceIsReplacedAndTheKeyExpiresWithTheNewOne() {
        String key = this.keys.links(NS, "back");
        long now = this.executor.getServiceState(NS, "nothing").readTimeMillis();
        this.admin.hset(key, "chat", "1:" + (now - 1_000));
        this.admin.pexpireat(key, now + 2_000);

        LinkInfo link = this.executor.setLinkedPodIfAbsent(NS, "back", "chat", 2, 300);

        assertThat(link.created()).isTrue();
        assertThat(link.podIndex()).isEqualTo(2);
        assertThat(this.admin.pttl(key)).isCloseTo(300_000L, within(5_000L));
    }

    /** Commands run since the last reset, without the script call itself and the INFO that reads them. */
    private Map<String, Long> scriptCommands() {
        Map<String, Long> calls = new LinkedHashMap<>();
        for (String line : this.admin.info("commandstats").split("\r?\n")) {
            if (line.startsWith("cmdstat_")) {
                String command = line.substring(8, line.indexOf(':'));
                int start = line.indexOf("calls=") + 6;
                long count = Long.parseLong(line.substring(start, line.indexOf(',', start)));
                if (!command.equals("evalsha") && !command.equals("info") && !command.startsWith("config")) {
                    calls.put(command, count);
                }
            }
        }
        return calls;
    }
}
