package io.statefulroute.reliability;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Redis with AOF ({@code appendfsync always}) killed with SIGKILL and restarted: what is kept and
 * what is not. Persistent links all survive; temporary links survive with their absolute expiry;
 * pod states survive with their old update time (so they age out unless the pods heartbeat
 * again); scripts are not kept and are re-sent by themselves; gateways drop their link cache
 * when their notice subscription comes back.
 */
class AofRestartTest {

    private static final String NS = "aof";

    private static final int PERSISTENT = 1000;

    private static final int TEMPORARY = 200;

    @Test
    void persistentLinksSurviveAKillAndRestart() throws Exception {
        try (RedisServer redis = RedisServers.standalone().args("--appendonly", "yes", "--appendfsync", "always").start()) {
            RedisClient lettuce = RedisClient.create(RedisURI.create(redis.uri()));
            RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
                .ownedConnection(lettuce.connect(StringCodec.UTF8))
                .pubSubConnections(() -> lettuce.connectPubSub(StringCodec.UTF8))
                .commandTimeout(Duration.ofSeconds(1))
                .build();
            try {
                ServiceStateCache states = new ServiceStateCache(executor, Duration.ofSeconds(2));
                StatefulRouteForClientDriver gateway = new StatefulRouteForClientDriver(executor,
                        new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector()),
                        ClientOptions.defaults(NS));
                gateway.listenForLinkChanges();
                // the test plays the starter's scheduler, which checks the notices every refresh period
                await().atMost(Duration.ofSeconds(10)).until(() -> {
                    gateway.checkLinkChanges().exceptionally((ex) -> null);
                    return gateway.isFollowingLinkChanges();
                });
                for (int i = 0; i < PERSISTENT; i++) {
                    executor.setLinkedPod(NS, "p-" + i, (i % 2 == 0) ? "chat" : "lobby", i % 4, RouteArguments.PERSIST_FOREVER);
                }
                for (int i = 0; i < TEMPORARY; i++) {
                    executor.setLinkedPod(NS, "t-" + i, "chat", i % 4, 300);
                }
                // Heartbeat right before routing: writing 1,200 links on a busy machine can take longer
                // than the pod expiry, and routing to pods that look dead would relink instead of hit.
                for (int pod = 0; pod < 4; pod++) {
                    executor.setServiceState(NS, "chat", pod, RoutingState.READY, pod);
                }
                for (int i = 0; i < 100; i++) {
                    gateway.computeLinkedPod(NS, "p-" + (2 * i), "chat");
                }
                assertThat(gateway.cacheStats().size()).isEqualTo(100);
                ServiceState before = executor.getServiceState(NS, "chat");

                long killed = System.nanoTime();
                kill(redis);
                redis.start();
                Figures.print("aof", "kill -9 to answering again", Figures.millis(System.nanoTime() - killed));

                // Every persistent link, exactly as written.
                for (int i = 0; i < PERSISTENT; i++) {
                    assertThat(executor.getLinkedPodIfPersist(NS, "p-" + i, (i % 2 == 0) ? "chat" : "lobby"))
                        .as("p-" + i).hasValue(i % 4);
                }
                // Temporary links keep their absolute expiry (Redis' clock), so they survive if not expired.
                for (int i = 0; i < TEMPORARY; i++) {
                    Optional<LinkInfo> link = executor.await(executor.getLinkAsync(NS, "t-" + i, "chat"));
                    assertThat(link).as("t-" + i).isPresent();
                    assertThat(link.get().persistent()).isFalse();
                    assertThat(link.get().podIndex()).isEqualTo(i % 4);
                    assertThat(link.get().remainingMillis()).isBetween(1L, 300_000L);
                }
                // Pod states are kept with the update time of their last heartbeat: they age out.
                ServiceState after = executor.getServiceState(NS, "chat");
                assertThat(after.pods()).extracting(PodState::updateTimeMillis)
                    .containsExactlyElementsOf(before.pods().stream().map(PodState::updateTimeMillis).toList());
                // Gateways start over: after the resubscription (notices sent while Redis was down are
                // lost; none could be sent anyway) the first probe that comes back clears the link cache.
                await().atMost(Duration.ofSeconds(10)).until(() -> {
                    gateway.checkLinkChanges().exceptionally((ex) -> null);
                    return gateway.cacheStats().size() == 0;
                });
                // Scripts are not kept by Redis: the first call re-sends them, with no manual step.
                // The pods heartbeat again, as running pods do.
                for (int pod = 0; pod < 4; pod++) {
                    executor.setServiceState(NS, "chat", pod, RoutingState.READY, pod);
                }
                states.refresh();
                assertThat(gateway.computeLinkedPod(NS, "p-0", "chat")).isZero();
                assertThat(gateway.computeLinkedPod(NS, "brand-new", "chat")).isBetween(0, 3);
                Figures.print("aof", "links checked after the restart", PERSISTENT + " persistent + " + TEMPORARY
                        + " temporary; " + after.pods().size() + " pod states");
            }
            finally {
                executor.close();
                lettuce.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }
        }
    }

    /** SIGKILL, so Redis gets no chance to flush anything at exit: only what fsync put on disk counts. */
    private static void kill(RedisServer redis) throws Exception {
        RedisClient admin = RedisClient.create(RedisURI.create(redis.uri()));
        try {
            RedisCommands<String, String> sync = admin.connect().sync();
            String info = sync.info("server");
            long pid = info.lines().filter((line) -> line.startsWith("process_id:"))
                .mapToLong((line) -> Long.parseLong(line.substring("process_id:".length()).trim()))
                .findFirst().orElseThrow();
            Optional<ProcessHandle> process = ProcessHandle.of(pid);
            if (redis.kind().equals("testcontainers") || process.isEmpty()) {
                redis.stop();
                return;
            }
            process.get().destroyForcibly();
            process.get().onExit().get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(5)).until(() -> !redis.isRunning());
        }
        finally {
            admin.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

}
