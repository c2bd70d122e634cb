package io.statefulroute.reliability;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.statefulroute.actuate.StatefulRouteEndpoint;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.data.redis.connection.RedisClusterConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The starter on a 3-master Redis Cluster with one replica each, configured only by
 * {@code spring.data.redis.cluster.nodes} (plus Lettuce's topology refresh): two pods of a
 * service and a gateway, each its own application context. Routing, heartbeats, drain and link
 * notices work across the cluster; then a master fails over under routing load.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ClusterThroughSpringTest {

    private static final String NS = "cl";

    private static final String PREFIX = StarterContexts.uniquePrefix();

    private static RedisCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = RedisServers.cluster().start();
        Figures.print("cluster", "nodes", cluster);
    }

    @AfterAll
    static void stopCluster() {
        cluster.close();
    }

    /**
     * A local cluster on a busy 2-core CI machine has been seen to stall for about a second
     * outside any failover; the default timeout absorbs that, so only the failover is measured.
     */
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(2);

    /** How long calls are watched for failures once none may fail any more. */
    private static final Duration STABILITY = Duration.ofSeconds(2);

    private ApplicationContextRunner runner() {
        return StarterContexts.runner().withPropertyValues("spring.data.redis.cluster.nodes=" + cluster.nodesProperty(),
                "spring.data.redis.lettuce.cluster.refresh.adaptive=true",
                "spring.data.redis.lettuce.cluster.refresh.period=1s", "stateful-route.key-prefix=" + PREFIX,
                "stateful-route.namespace=" + NS, "stateful-route.command-timeout=" + COMMAND_TIMEOUT.toMillis() + "ms",
                "stateful-route.state.refresh-period=200ms", "stateful-route.state.pod-expiry=3s",
                "stateful-route.server.heartbeat-period=200ms", "stateful-route.server.drain-period=0s");
    }

    private ApplicationContextRunner pod(int index) {
        return runner().withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=" + index,
                "management.endpoints.web.exposure.include=statefulroute");
    }

    @Test
    void routingHeartbeatDrainNoticesAndFailoverThroughSpringOnACluster() throws Exception {
        ContextsOnTheirOwnThread.run("cluster", (checked) -> pod(0).run((pod0) -> pod(1)
            .run((pod1) -> runner().run((gateway) -> ContextsOnTheirOwnThread.report(checked,
                    () -> check(pod0, pod1, gateway))))));
    }

    private void check(AssertableApplicationContext pod0, AssertableApplicationContext pod1,
            AssertableApplicationContext gateway) throws Exception {
        assertThat(List.of(pod0, pod1, gateway)).allSatisfy((context) -> assertThat(context).hasNotFailed());
        assertThat(gateway.getBean(LettuceConnectionFactory.class).getClusterConfiguration())
            .isInstanceOf(RedisClusterConfiguration.class);
        StatefulRouteForClientDriver client = gateway.getBean(StatefulRouteForClientDriver.class);
        StatefulRouteForServerDriver server0 = pod0.getBean(StatefulRouteForServerDriver.class);
        StatefulRouteForServerDriver server1 = pod1.getBean(StatefulRouteForServerDriver.class);
        await().atMost(Duration.ofSeconds(10)).until(() -> client.isFollowingLinkChanges()
                && client.routeInfo().serviceState(NS, "chat").routablePods().size() == 2);

        // Routing: users in every hash slot range, so every master serves some.
        List<String> users = new ArrayList<>();
        Set<Integer> masters = new HashSet<>();
        for (int i = 0; i < 300; i++) {
            String uid = "user-" + i;
            users.add(uid);
            masters.add(SlotHash.getSlot(PREFIX + ":{u:" + NS + ":" + uid + "}:link:chat") * 3 / 16384);
            int pod = client.computeLinkedPod(NS, uid, "chat");
            assertThat(pod).isIn(0, 1);
            // The pod that got the user keeps its state: the link becomes persistent.
            (pod == 0 ? server0 : server1).setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        }
        assertThat(masters).containsExactlyInAnyOrder(0, 1, 2);
        Map<Integer, List<String>> byPod = client.batchGetLinkedPod(NS, users, "chat");
        assertThat(byPod.values().stream().mapToInt(List::size).sum()).isEqualTo(users.size());
        Figures.print("cluster", "users per pod", Map.of(0, byPod.getOrDefault(0, List.of()).size(), 1,
                byPod.getOrDefault(1, List.of()).size()));

        // Link notices across the cluster: a handoff reaches the gateway's cache at once.
        String moved = byPod.get(1).get(0);
        assertThat(client.computeLinkedPod(NS, moved, "chat")).isEqualTo(1);
        long handOff = System.nanoTime();
        assertThat(server1.handOff(moved, 0)).isTrue();
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(1))
            .until(() -> client.getLinkedInCache(NS, moved, "chat").isEmpty());
        Figures.print("cluster", "handoff notice reached the gateway within", Figures.millis(System.nanoTime() - handOff));
        assertThat(client.computeLinkedPod(NS, moved, "chat")).isZero();

        // Drain through the actuator endpoint of pod 1: no new users there, its users stay.
        pod1.getBean(StatefulRouteEndpoint.class).updatePod(RoutingState.DENY_NEW_CALL, null);
        await().atMost(Duration.ofSeconds(3)).until(() -> {
            var view = client.routeInfo().serviceState(NS, "chat");
            return view.isAvailable(1) && !view.isRoutable(1);
        });
        for (int i = 0; i < 50; i++) {
            assertThat(client.computeLinkedPod(NS, "after-drain-" + i, "chat")).isZero();
        }
        String stays = byPod.get(1).get(1);
        client.cacheExpired(NS, stays, "chat");
        assertThat(client.computeLinkedPod(NS, stays, "chat")).isEqualTo(1);
        pod1.getBean(StatefulRouteEndpoint.class).updatePod(RoutingState.READY, null);
        await().atMost(Duration.ofSeconds(3)).until(() -> client.routeInfo().serviceState(NS, "chat").isRoutable(1));

        failOverUnderLoad(gateway, pod0, client, server0, users, byPod);
    }

    private void failOverUnderLoad(AssertableApplicationContext gateway, AssertableApplicationContext pod0,
            StatefulRouteForClientDriver client, StatefulRouteForServerDriver server0, List<String> users,
            Map<Integer, List<String>> linkedBefore) throws InterruptedException {
        // The master serving the service's pod states (heartbeats and refreshes go there) fails over.
        String podsKey = PREFIX + ":{s:" + NS + ":chat}:pods";
        CallRecorder cached = new CallRecorder();
        CallRecorder fresh = new CallRecorder();
        AtomicLong newUser = new AtomicLong();
        ScheduledExecutorService load = Executors.newScheduledThreadPool(3);
        RedisServer stopped;
        long failOverStarted;
        long failOverReturned;
        try {
            load.scheduleAtFixedRate(() -> {
                for (int i = 0; i < 10; i++) {
                    String uid = users.get(ThreadLocalRandom.current().nextInt(users.size()));
                    cached.call(() -> client.computeLinkedPod(NS, uid, "chat"));
                }
            }, 0, 10, TimeUnit.MILLISECONDS);
            for (int t = 0; t < 2; t++) {
                load.scheduleAtFixedRate(() -> fresh.call(
                        () -> client.computeLinkedPod(NS, "failover-" + newUser.incrementAndGet(), "chat")),
                        0, 10, TimeUnit.MILLISECONDS);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> fresh.successes() > 50);
            failOverStarted = System.nanoTime();
            stopped = cluster.failOverMasterOf(podsKey);
            failOverReturned = System.nanoTime();
            Instant back = Instant.now();
            fresh.mark();
            // No manual step: the gateway's own cluster client learns the new master by itself
            // (periodic refresh every second, adaptive refresh), a liveness bound for a busy machine.
            RedisClusterClient gatewayClient = (RedisClusterClient) gateway.getBean(LettuceConnectionFactory.class)
                .getRequiredNativeClient();
            int slot = SlotHash.getSlot(podsKey);
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                .until(() -> servesAsMaster(gatewayClient.getPartitions().getMasterBySlot(slot), cluster.masters()));
            long topologyLearned = System.nanoTime();
            // Calls sent to the stopped master before that were queued on its connection and fail
            // with the command timeout; no call fails after that, and new links keep succeeding.
            long lastPossibleFailure = topologyLearned + COMMAND_TIMEOUT.plus(LoadedMachine.LATENESS).toNanos();
            await().atMost(COMMAND_TIMEOUT.plus(STABILITY).plusSeconds(10))
                .until(() -> System.nanoTime() - lastPossibleFailure > STABILITY.toNanos()
                        && fresh.successesAfterMark() > 0);
            long firstSuccess = fresh.firstSuccessAfterMarkNanos();
            await().atMost(Duration.ofSeconds(30)).until(() -> server0.heartbeatStatus().lastSuccess() != null
                    && server0.heartbeatStatus().lastSuccess().isAfter(back));
            Figures.print("failover", "first heartbeat of pod 0 after failOverMasterOf returned",
                    Duration.between(back, server0.heartbeatStatus().lastSuccess()).toMillis() + " ms");
            Figures.print("failover", "gateway's client learned the new master after failOverMasterOf returned",
                    Figures.millis(topologyLearned - failOverReturned));
            if (fresh.failureCount() > 0) {
                Figures.print("failover", "last failed new-user call after the gateway learned the new master",
                        Figures.millis(fresh.lastFailureNanoTime() - topologyLearned));
            }
            assertThat(fresh.failureCount() == 0 || fresh.lastFailureNanoTime() - lastPossibleFailure <= 0)
                .as("a new-user call failed more than the command timeout after the gateway learned the new master")
                .isTrue();
            assertThat(cached.failureCount() == 0 || cached.lastFailureNanoTime() - lastPossibleFailure <= 0)
                .as("a cached-route call failed more than the command timeout after the gateway learned the new master")
                .isTrue();

            Figures.print("failover", "failOverMasterOf took (replica sync, stop, takeover, cluster ok)",
                    Figures.millis(failOverReturned - failOverStarted));
            Figures.print("failover", "failure window (first to last failed call)", Figures.millis(
                    Math.max(fresh.failureWindowNanos(), cached.failureWindowNanos())));
            Figures.print("failover", "from the start of failOverMasterOf to the first successful new link",
                    Figures.millis(failOverReturned - failOverStarted + firstSuccess));
            Figures.print("failover", "new-user calls", fresh);
            Figures.print("failover", "cached-route calls", cached);
            Figures.print("failover", "failure messages", fresh.sampleMessages());
        }
        finally {
            load.shutdownNow();
            load.awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(fresh.failures().keySet()).isSubsetOf("RedisUnavailableException");
        assertThat(cached.failures().keySet()).isSubsetOf("RedisUnavailableException");
        assertThat(Duration.ofNanos(Math.max(fresh.maxNanos(), cached.maxNanos())))
            .isLessThan(COMMAND_TIMEOUT.plusMillis(500));

        // Every persistent link written before the failover is still there (the helper waited for
        // the replica to catch up before stopping the master).
        StatefulExecutor executor = gateway.getBean(StatefulExecutor.class);
        int checked = 0;
        for (Map.Entry<Integer, List<String>> entry : linkedBefore.entrySet()) {
            for (String uid : entry.getValue()) {
                OptionalInt pod = executor.getLinkedPodIfPersist(NS, uid, "chat");
                if (!uid.equals(linkedBefore.get(1).get(0))) {
                    assertThat(pod).as(uid).hasValue(entry.getKey());
                }
                checked++;
            }
        }
        Figures.print("failover", "persistent links checked after the failover", checked);
        assertThat(pod0.getBean(ServiceStateCache.class).stats().redisUnavailable()).isFalse();
        // The old master rejoins as a replica: Lettuce's reconnect loop to it ends before the contexts close.
        stopped.start();
    }

    /** Whether the master a client's view gives for a slot is a current master of the cluster. */
    private static boolean servesAsMaster(RedisClusterNode node, List<RedisServer> masters) {
        return node != null
                && masters.stream().anyMatch((master) -> master.port() == node.getUri().getPort());
    }
}
