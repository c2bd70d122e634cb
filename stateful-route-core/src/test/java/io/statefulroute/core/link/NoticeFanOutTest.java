package io.statefulroute.core.link;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The fan-out check: what one link change costs Redis in output bytes ({@code INFO stats}
 * {@code total_net_output_bytes}, exact) with 1 and with 4 gateways, each caching its own users
 * and following notices, next to the 3 pods of the sample topology, each following its users'
 * links too. A pod hands each of its users to another pod, one change after another.
 *
 * <p>With the default settings (tracking where the server supports it, changes still published
 * on the channel for clients that follow it) a change reaches only the gateway that cached the
 * user, so 4 gateways cost what 1 does: the bound is 10 % (the bytes are counted exactly and
 * every change is the same size; the margin is for Redis' own replies to the counter reads).
 * On the channel each change reaches every gateway and pod, so each gateway adds a message per
 * change; the same measurement shows it, so the check can fail. A server that refuses tracking
 * gets the channel's cost, with notices still arriving.
 */
class NoticeFanOutTest {

    private static final long FOREVER = RouteArguments.PERSIST_FOREVER;

    private static final int CHANGES = 200;

    private static final String USER = "gateway";

    private static final String PASSWORD = "pw-" + System.nanoTime();

    /** Executors as the starter builds them by default. */
    private static final Function<TestRedis, StatefulExecutor> DEFAULT = (redis) -> redis
        .trackingWhereSupportedExecutor(true);

    @Test
    void withDefaultSettingsFourGatewaysCostWhatOneDoes() {
        Run one = run("default (tracking where supported)", 1, DEFAULT, false);
        Run four = run("default (tracking where supported)", 4, DEFAULT, false);

        assertThat(one.receiptsPerChange()).isEqualTo(1.0);
        assertThat(four.receiptsPerChange()).isEqualTo(1.0);
        assertThat(four.bytesPerChange()).isLessThanOrEqualTo(one.bytesPerChange() * 1.1);
    }

    @Test
    void onTheChannelEachGatewayAddsAMessagePerChange() {
        Run one = run("channel", 1, TestRedis::executor, false);
        Run four = run("channel", 4, TestRedis::executor, false);

        assertThat(one.receiptsPerChange()).isEqualTo(1.0);
        assertThat(four.receiptsPerChange()).isEqualTo(4.0);
        assertThat(four.bytesPerChange() - one.bytesPerChange()).isGreaterThan(3 * 50.0);
    }

    @Test
    void whereTheServerRefusesTrackingTheDefaultCostsWhatTheChannelDoes() {
        Run one = run("default, server refusing tracking", 1, DEFAULT, true);
        Run four = run("default, server refusing tracking", 4, DEFAULT, true);

        assertThat(four.receiptsPerChange()).isEqualTo(4.0);
        assertThat(four.bytesPerChange() - one.bytesPerChange()).isGreaterThan(3 * 50.0);
    }

    /** Output bytes and gateway receipts per change, over {@link #CHANGES} changes. */
    private record Run(double bytesPerChange, double receiptsPerChange) {
    }

    /**
     * A fresh server; 3 pods and {@code gateways} gateways, each on an executor of its own made
     * by {@code executors}, as an ACL user denied {@code client|tracking} when {@code refuseTracking}.
     */
    private Run run(String label, int gateways, Function<TestRedis, StatefulExecutor> executors,
            boolean refuseTracking) {
        String ns = TestRedis.freshNamespace();
        List<StatefulRouteForServerDriver> pods = new ArrayList<>();
        List<StatefulRouteForClientDriver> clients = new ArrayList<>();
        try (RedisServer server = RedisServers.standalone().start(); TestRedis admin = TestRedis.on(server);
                TestRedis redis = refuseTracking ? userDeniedTracking(server, admin) : TestRedis.on(server)) {
            RedisCommands<String, String> counters = admin.sync();
            try {
                for (int index = 0; index < 3; index++) {
                    StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(executors.apply(redis),
                            new ServerOptions(new PodIdentity(ns, "chat", index), 0, Duration.ZERO)
                                .withLease(Duration.ofSeconds(60), Duration.ofSeconds(1), Duration.ofMillis(200)));
                    pod.start();
                    pod.followLinkChanges();
                    pods.add(pod);
                }
                for (int g = 0; g < gateways; g++) {
                    clients.add(gateway(executors.apply(redis), ns));
                }
                StatefulRouteForServerDriver from = pods.get(1);
                List<String> users = new ArrayList<>();
                for (int i = 0; i < CHANGES; i++) {
                    // one length for every name, so every change is the same size
                    String uid = String.format("user-%04d", i);
                    users.add(uid);
                    from.setLinkedPod(uid, FOREVER);
                    assertThat(clients.get(i % gateways).computeLinkedPod(ns, uid, "chat")).isEqualTo(1);
                }
                // the pod's own check of its new users is done: only the changes talk to Redis from here on
                await().atMost(Duration.ofSeconds(10)).until(() -> users.stream().allMatch(from::owns));
                long receivedBefore = received(clients);

                long before = outputBytesWithoutOwnReply(counters);
                for (String uid : users) {
                    assertThat(from.handOff(uid, 2)).isTrue();
                }
                await().atMost(Duration.ofSeconds(10))
                    .until(() -> clients.stream().mapToLong((client) -> client.noticeStats().evicted()).sum() == CHANGES);
                long receipts = received(clients) - receivedBefore;
                Run run = new Run((outputBytes(counters) - before) / (double) CHANGES, receipts / (double) CHANGES);
                System.out.printf("fan-out: %s, %d gateway(s) and 3 pods: %.1f B of Redis output and %.2f gateway "
                        + "receipts per change%n", label, gateways, run.bytesPerChange(), run.receiptsPerChange());
                return run;
            }
            finally {
                clients.forEach(StatefulRouteForClientDriver::stopListeningForLinkChanges);
                pods.forEach(StatefulRouteForServerDriver::stop);
            }
        }
    }

    /** Connections as an ACL user that may do anything but {@code CLIENT TRACKING}. */
    private static TestRedis userDeniedTracking(RedisServer server, TestRedis admin) {
        admin.sync().dispatch(CommandType.ACL, new StatusOutput<>(StringCodec.UTF8),
                new CommandArgs<>(StringCodec.UTF8).add("SETUSER").add(USER).add("on").add(">" + PASSWORD)
                    .add("~*").add("&*").add("+@all").add("-client|tracking"));
        return TestRedis.as(server, USER, PASSWORD);
    }

    private static StatefulRouteForClientDriver gateway(StatefulExecutor executor, String ns) {
        StatefulRouteForClientDriver gateway = new StatefulRouteForClientDriver(executor,
                new RouteInfoDriver(new ServiceStateCache(executor, Duration.ofSeconds(30)),
                        PodSelectionStrategy.LOAD_AWARE.newSelector()),
                ClientOptions.defaults(ns));
        gateway.listenForLinkChanges();
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            gateway.checkLinkChanges().join();
            return gateway.isFollowingLinkChanges();
        });
        return gateway;
    }

    private static long received(List<StatefulRouteForClientDriver> clients) {
        return clients.stream().mapToLong((client) -> client.noticeStats().received()).sum();
    }

    private static long outputBytes(RedisCommands<String, String> counters) {
        for (String line : counters.info("stats").split("\r?\n")) {
            if (line.startsWith("total_net_output_bytes:")) {
                return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        throw new IllegalStateException("INFO stats without total_net_output_bytes");
    }

    /**
     * The counter, less the reply that carries it (counted in the next reading): two readings in
     * a row differ by one reply, and nothing else talks to Redis meanwhile.
     */
    private static long outputBytesWithoutOwnReply(RedisCommands<String, String> counters) {
        long first = outputBytes(counters);
        long second = outputBytes(counters);
        return second + (second - first);
    }
}
