package io.statefulroute.reliability;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.testsupport.RedisSentinel;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The starter on Redis Sentinel (one master, one replica, three {@code redis-server --sentinel}
 * processes), configured only by {@code spring.data.redis.sentinel.*}: two pods of a service and a
 * gateway, each its own application context. Routing, heartbeats and link notices work; then
 * {@code SENTINEL FAILOVER} under routing load recovers by itself with typed errors only.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SentinelThroughSpringTest {

    private static final String NS = "st";

    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(1);

    /**
     * Every Sentinel adopts a failover within its hello period (2 s) and then reports
     * {@code +switch-master}; a loaded machine may take longer.
     */
    private static final Duration SWITCH_REPORTED = Duration.ofSeconds(5);

    private static RedisSentinel sentinel;

    @BeforeAll
    static void startSentinel() {
        sentinel = RedisServers.sentinel().start();
        Figures.print("sentinel", "setup", sentinel);
    }

    @AfterAll
    static void stopSentinel() {
        sentinel.close();
    }

    private ApplicationContextRunner runner(String notices) {
        return StarterContexts.runner().withPropertyValues("stateful-route.link.notices=" + notices,
                "spring.data.redis.sentinel.master=" + sentinel.masterName(),
                "spring.data.redis.sentinel.nodes=" + sentinel.sentinelNodesProperty(),
                "stateful-route.key-prefix=" + StarterContexts.uniquePrefix(), "stateful-route.namespace=" + NS,
                "stateful-route.command-timeout=" + COMMAND_TIMEOUT.toMillis() + "ms",
                "stateful-route.state.refresh-period=200ms", "stateful-route.state.pod-expiry=3s",
                "stateful-route.server.heartbeat-period=200ms", "stateful-route.server.drain-period=0s");
    }

    /**
     * Link notices on the channel, and by default (tracking where supported, which these servers
     * do, so by client tracking); each run fails the master over once.
     */
    @ParameterizedTest(name = "link notices by {0}")
    @ValueSource(strings = { "channel", "auto" })
    void routingHeartbeatsNoticesAndFailoverThroughSpringOnSentinel(String notices) {
        ApplicationContextRunner runner = runner(notices);
        runner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0")
            .run((pod0) -> runner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=1")
                .run((pod1) -> runner.run((gateway) -> check(pod0, pod1, gateway))));
    }

    private void check(AssertableApplicationContext pod0, AssertableApplicationContext pod1,
            AssertableApplicationContext gateway) throws InterruptedException {
        assertThat(List.of(pod0, pod1, gateway)).allSatisfy((context) -> assertThat(context).hasNotFailed());
        assertThat(gateway.getBean(LettuceConnectionFactory.class).getSentinelConfiguration()).isNotNull();
        StatefulRouteForClientDriver client = gateway.getBean(StatefulRouteForClientDriver.class);
        List<StatefulRouteForServerDriver> servers = List.of(pod0.getBean(StatefulRouteForServerDriver.class),
                pod1.getBean(StatefulRouteForServerDriver.class));
        await().atMost(Duration.ofSeconds(10)).until(() -> client.isFollowingLinkChanges()
                && client.routeInfo().serviceState(NS, "chat").routablePods().size() == 2);

        // Routing: each new user goes to a routable pod, which keeps it (persistent link).
        List<String> users = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            String uid = "user-" + i;
            users.add(uid);
            int pod = client.computeLinkedPod(NS, uid, "chat");
            assertThat(pod).isIn(0, 1);
            servers.get(pod).setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        }
        Map<Integer, List<String>> byPod = client.batchGetLinkedPod(NS, users, "chat");
        assertThat(byPod.keySet()).containsExactlyInAnyOrder(0, 1);
        Figures.print("sentinel", "users per pod", Map.of(0, byPod.get(0).size(), 1, byPod.get(1).size()));

        assertThat(handOffReachesTheGateway(client, servers, byPod.get(1).get(0), "before the failover")).isTrue();

        failOverUnderLoad(gateway, client, servers, users, byPod);

        // Notices follow the new master: the subscription came back by itself.
        await().atMost(Duration.ofSeconds(10)).until(client::isFollowingLinkChanges);
        assertThat(handOffReachesTheGateway(client, servers, byPod.get(1).get(1), "after the failover")).isTrue();
    }

    /** Pod 1 hands the user to pod 0; the gateway's cached link must go within a second (a notice). */
    private static boolean handOffReachesTheGateway(StatefulRouteForClientDriver client,
            List<StatefulRouteForServerDriver> servers, String uid, String when) {
        assertThat(client.computeLinkedPod(NS, uid, "chat")).isEqualTo(1);
        long handOff = System.nanoTime();
        assertThat(servers.get(1).handOff(uid, 0)).isTrue();
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(1))
            .until(() -> client.getLinkedInCache(NS, uid, "chat").isEmpty());
        Figures.print("sentinel", "handoff notice reached the gateway " + when + " within",
                Figures.millis(System.nanoTime() - handOff));
        return client.computeLinkedPod(NS, uid, "chat") == 0;
    }

    private void failOverUnderLoad(AssertableApplicationContext gateway, StatefulRouteForClientDriver client,
            List<StatefulRouteForServerDriver> servers, List<String> users, Map<Integer, List<String>> linkedBefore)
            throws InterruptedException {
        CallRecorder cached = new CallRecorder();
        CallRecorder fresh = new CallRecorder();
        AtomicLong newUser = new AtomicLong();
        Queue<Created> created = new ConcurrentLinkedQueue<>();
        ScheduledExecutorService load = Executors.newScheduledThreadPool(3);
        RedisServer oldMaster = sentinel.master();
        long failOverSent;
        long failOverReturned;
        try {
            load.scheduleAtFixedRate(() -> {
                for (int i = 0; i < 10; i++) {
                    String uid = users.get(ThreadLocalRandom.current().nextInt(users.size()));
                    cached.call(() -> client.computeLinkedPod(NS, uid, "chat"));
                }
            }, 0, 10, TimeUnit.MILLISECONDS);
            for (int t = 0; t < 2; t++) {
                load.scheduleAtFixedRate(() -> {
                    String uid = "failover-" + newUser.incrementAndGet();
                    long at = System.nanoTime();
                    if (fresh.call(() -> client.computeLinkedPod(NS, uid, "chat")) >= 0) {
                        created.add(new Created(uid, at));
                    }
                }, 0, 10, TimeUnit.MILLISECONDS);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> fresh.successes() > 50);
            long started = System.nanoTime();
            failOverSent = started;
            RedisServer newMaster = sentinel.failOver();
            long returned = System.nanoTime();
            failOverReturned = returned;
            Instant back = Instant.now();
            fresh.mark();
            // No manual step: new links keep (or start again) succeeding, on the new master.
            await().atMost(Duration.ofSeconds(20)).until(() -> fresh.successesAfterMark() > 20);
            for (StatefulRouteForServerDriver server : servers) {
                await().atMost(Duration.ofSeconds(20)).until(() -> server.heartbeatStatus().lastSuccess() != null
                        && server.heartbeatStatus().lastSuccess().isAfter(back));
            }
            Figures.print("sentinel failover", "SENTINEL FAILOVER until every Sentinel and both servers agree",
                    Figures.millis(returned - started));
            Figures.print("sentinel failover", "new-user calls", fresh);
            Figures.print("sentinel failover", "cached-route calls", cached);
            Figures.print("sentinel failover", "failure window (first to last failed call)",
                    Figures.millis(Math.max(fresh.failureWindowNanos(), cached.failureWindowNanos())));
            Figures.print("sentinel failover", "first successful new link started after the failover completed",
                    Figures.millis(fresh.firstSuccessAfterMarkNanos()) + " after it completed, "
                            + Figures.millis(returned - started + fresh.firstSuccessAfterMarkNanos())
                            + " after SENTINEL FAILOVER was sent");
            Figures.print("sentinel failover", "failure messages", fresh.sampleMessages() + " " + cached.sampleMessages());
            assertThat(newMaster.port()).isNotEqualTo(oldMaster.port());
        }
        finally {
            load.shutdownNow();
            load.awaitTermination(5, TimeUnit.SECONDS);
        }
        // The new master holds the pods' heartbeats from before the failover (later ones went to
        // the old master and were discarded); the state cache keeps the newer ones it saw, so no
        // pod looks dead (NoRoutablePodException, users moved) until its next heartbeat arrives.
        assertThat(fresh.failures().keySet()).isSubsetOf("RedisUnavailableException");
        assertThat(cached.failures().keySet()).isSubsetOf("RedisUnavailableException");
        long lastFailure = Math.max(fresh.lastFailureNanoTime(), cached.lastFailureNanoTime());
        assertThat(fresh.failureCount() + cached.failureCount() == 0
                || lastFailure - failOverReturned < COMMAND_TIMEOUT.plusSeconds(2).toNanos())
            .as("calls failed longer than a reconnect and a heartbeat round after the failover completed")
            .isTrue();
        assertThat(Duration.ofNanos(Math.max(fresh.maxNanos(), cached.maxNanos())))
            .isLessThanOrEqualTo(COMMAND_TIMEOUT.plus(LoadedMachine.LATENESS));

        // Every persistent link written before the failover is on the new master (the replica had caught up).
        StatefulExecutor executor = gateway.getBean(StatefulExecutor.class);
        String movedBefore = linkedBefore.get(1).get(0);
        int checked = 0;
        for (Map.Entry<Integer, List<String>> entry : linkedBefore.entrySet()) {
            for (String uid : entry.getValue()) {
                if (!uid.equals(movedBefore)) {
                    OptionalInt pod = executor.getLinkedPodIfPersist(NS, uid, "chat");
                    assertThat(pod).as(uid).hasValue(entry.getKey());
                    checked++;
                }
            }
        }
        Figures.print("sentinel failover", "persistent links checked after the failover", checked);

        // SENTINEL FAILOVER promotes the replica at once but demotes the old master only when a
        // Sentinel next reconfigures it (~10 s later); writes the old master takes meanwhile are
        // gone once it resyncs from the new one. The executor follows +switch-master and connects
        // again as soon as a Sentinel reports the switch, so only links made before that are lost.
        List<Created> lost = created.stream()
            .filter((link) -> link.startedNanos() - failOverSent >= 0)
            .filter((link) -> executor.await(executor.getLinkAsync(NS, link.uid(), "chat")).isEmpty())
            .toList();
        long linkedDuring = created.stream().filter((link) -> link.startedNanos() - failOverSent >= 0).count();
        long lastLost = lost.stream().mapToLong((link) -> link.startedNanos() - failOverSent).max().orElse(0);
        Figures.print("sentinel failover", "new links made after SENTINEL FAILOVER was sent that the new master lacks",
                lost.size() + " of " + linkedDuring + ", the last made " + Figures.millis(lastLost) + " after it was sent");
        assertThat(Duration.ofNanos(lastLost)).as("new links lost to the old master after the switch was reported")
            .isLessThan(SWITCH_REPORTED);
    }

    /** A link a new-user call made, and when the call started. */
    private record Created(String uid, long startedNanos) {
    }
}
