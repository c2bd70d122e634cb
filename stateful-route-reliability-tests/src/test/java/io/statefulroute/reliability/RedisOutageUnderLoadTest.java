package io.statefulroute.reliability;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.server.LossReason;
import io.statefulroute.core.server.OwnershipListener;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Redis stops for 10 s while several threads route users through the starter (a gateway that is
 * also pod 0 of the service; pods 1 and 2 run as applications of their own, and every pod holds
 * users of its own): callers wait no longer than the command timeout, calls that need Redis fail
 * with {@code RedisUnavailableException}, cached routes keep answering with each user's own pod,
 * and when Redis returns heartbeats, the state cache and new links recover by themselves (scripts
 * are re-sent). All with default properties: the applications' Lettuce clients keep their own
 * reconnect backoff (doubling up to 30 s), and stateful-route's connections are opened again as
 * soon as Redis takes them, so routing is back within 2 s and no user of a healthy pod moves.
 */
class RedisOutageUnderLoadTest {

    /**
     * Twice the (default) pod expiry of 5 s. Cached routes keep answering only if the outage is
     * noticed (a refresh period plus the command timeout, 2 s here) before a pod's last heartbeat
     * (up to a heartbeat period old) expires: with a 3 s expiry a busy machine missed that.
     */
    private static final Duration OUTAGE = Duration.ofSeconds(10);

    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(1);

    private static final int PODS = 3;

    /** Users each pod holds (linked persistently by the pod itself) before the outage. */
    private static final int USERS_PER_POD = 70;

    /**
     * Each application's stateful-route connections are opened again within a quarter second of
     * Redis taking connections, then the next heartbeat or refresh (1 s periods) goes out: 2 s,
     * plus a busy machine's lateness, for every pod; no pod stays silent long enough (pod expiry
     * plus relink grace, 7 s) for gateways to move its users.
     */
    @Test
    void aTenSecondOutageWithDefaultPropertiesMovesNobodyAndRoutesWithinTwoSeconds() {
        Result result = runOutage("default properties");
        Duration recovery = Duration.ofSeconds(2).plus(LoadedMachine.LATENESS);
        assertThat(result.heartbeat()).isLessThanOrEqualTo(recovery);
        assertThat(result.refresh()).isLessThanOrEqualTo(recovery);
        assertThat(result.newLinks()).isLessThanOrEqualTo(recovery);
        assertThat(result.cachedFailures()).as("cached routes failing during the outage").isEmpty();
    }

    private record Result(Duration heartbeat, Duration refresh, Duration newLinks, Map<String, Long> cachedFailures) {
    }

    private Result runOutage(String variant) {
        String test = "outage (" + variant + ")";
        try (RedisServer redis = RedisServers.standalone().args("--appendonly", "yes").start()) {
            ApplicationContextRunner pods = StarterContexts.runner()
                .withPropertyValues("spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
                        "stateful-route.key-prefix=" + StarterContexts.uniquePrefix(), "stateful-route.namespace=out",
                        "stateful-route.server.service=chat", "stateful-route.server.drain-period=0s",
                        "stateful-route.command-timeout=" + COMMAND_TIMEOUT.toMillis() + "ms");
            Result[] result = new Result[1];
            pods.withPropertyValues("stateful-route.server.pod-index=1").run((pod1) -> pods
                .withPropertyValues("stateful-route.server.pod-index=2").run((pod2) -> pods
                    .withPropertyValues("stateful-route.server.pod-index=0")
                    .run((gateway) -> result[0] = runOutage(test, redis, gateway, pod1, pod2))));
            return result[0];
        }
    }

    private Result runOutage(String test, RedisServer redis, AssertableApplicationContext gateway,
            AssertableApplicationContext pod1, AssertableApplicationContext pod2) throws InterruptedException {
        assertThat(List.of(pod1, pod2, gateway)).allSatisfy((each) -> assertThat(each).hasNotFailed());
        StatefulRouteForClientDriver client = gateway.getBean(StatefulRouteForClientDriver.class);
        StatefulRouteForServerDriver server = gateway.getBean(StatefulRouteForServerDriver.class);
        List<StatefulRouteForServerDriver> servers = List.of(server,
                pod1.getBean(StatefulRouteForServerDriver.class), pod2.getBean(StatefulRouteForServerDriver.class));
        ServiceStateCache states = gateway.getBean(ServiceStateCache.class);
        await().atMost(Duration.ofSeconds(10))
            .until(() -> servers.stream().allMatch((each) -> each.heartbeatStatus().healthy())
                    && client.isFollowingLinkChanges()
                    && client.routeInfo().serviceState("out", "chat").routablePods().size() == PODS);
        // Each pod takes users of its own; the gateway caches where each one lives.
        Map<String, Integer> podOf = new HashMap<>();
        for (int pod = 0; pod < PODS; pod++) {
            for (int i = 0; i < USERS_PER_POD; i++) {
                String uid = "held-" + pod + "-" + i;
                servers.get(pod).setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
                podOf.put(uid, pod);
                assertThat(client.computeLinkedPod("out", uid, "chat")).isEqualTo(pod);
            }
        }
        List<String> cachedUsers = List.copyOf(podOf.keySet());
        Map<Integer, Set<String>> reportedLost = new ConcurrentHashMap<>();
        for (StatefulRouteForServerDriver each : servers) {
            each.addOwnershipListener(new OwnershipListener() {
                @Override
                public void usersLost(PodIdentity pod, Set<String> uids, LossReason reason) {
                    reportedLost.computeIfAbsent(pod.podIndex(), (index) -> ConcurrentHashMap.newKeySet()).addAll(uids);
                }
            });
        }

        CallRecorder cached = new CallRecorder();
        CallRecorder fresh = new CallRecorder();
        Set<String> routedElsewhere = ConcurrentHashMap.newKeySet();
        AtomicLong newUser = new AtomicLong();
        ScheduledExecutorService load = Executors.newScheduledThreadPool(4);
        Result result;
        try {
            for (int t = 0; t < 2; t++) {
                load.scheduleAtFixedRate(() -> {
                    for (int i = 0; i < 20; i++) {
                        String uid = cachedUsers.get(ThreadLocalRandom.current().nextInt(cachedUsers.size()));
                        int pod = cached.call(() -> client.computeLinkedPod("out", uid, "chat"));
                        if (pod >= 0 && pod != podOf.get(uid)) {
                            routedElsewhere.add(uid);
                        }
                    }
                }, 0, 10, TimeUnit.MILLISECONDS);
                load.scheduleAtFixedRate(() -> fresh.call(
                        () -> client.computeLinkedPod("out", "new-" + newUser.incrementAndGet(), "chat")),
                        0, 20, TimeUnit.MILLISECONDS);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> fresh.successes() > 20 && cached.successes() > 200);

            long stopped = System.nanoTime();
            redis.stop();
            // Throughout the outage no cached route names another pod (whether any fails is checked below).
            await().during(OUTAGE).atMost(OUTAGE.plusSeconds(5)).until(routedElsewhere::isEmpty);
            long freshFailuresDuringOutage = fresh.failureCount();
            long cachedFailuresDuringOutage = cached.failureCount();
            long firstCachedFailure = cached.firstFailureNanoTime() - stopped;
            redis.start();
            Instant back = Instant.now();
            fresh.mark();
            long outageNanos = System.nanoTime() - stopped;

            Duration heartbeat = servers.stream()
                .map((each) -> awaitAfter(back, () -> each.heartbeatStatus().lastSuccess()))
                .max(Duration::compareTo)
                .orElseThrow();
            Duration refresh = awaitAfter(back,
                    () -> states.stats().redisUnavailable() ? null : states.stats().lastRefresh());
            await().atMost(Duration.ofSeconds(40)).until(() -> fresh.successesAfterMark() > 0);
            Duration newLinks = Duration.ofNanos(fresh.firstSuccessAfterMarkNanos());
            await().atMost(Duration.ofSeconds(5)).until(() -> fresh.successesAfterMark() > 20);

            Figures.print(test, "outage length", Figures.millis(outageNanos));
            Figures.print(test, "cached-route calls (" + PODS + " pods, " + USERS_PER_POD + " users each)", cached);
            Figures.print(test, "new-user calls", fresh);
            Figures.print(test, "new-user failures during the outage", freshFailuresDuringOutage);
            Figures.print(test, "failure messages", fresh.sampleMessages() + " " + cached.sampleMessages());
            Figures.print(test, "cached-route failures during the outage", cachedFailuresDuringOutage
                    + (cachedFailuresDuringOutage > 0 ? " (first " + Figures.millis(firstCachedFailure)
                            + " after Redis stopped)" : ""));
            Figures.print(test, "first heartbeat of every pod after Redis returned", heartbeat.toMillis() + " ms");
            Figures.print(test, "first state refresh after Redis returned", refresh.toMillis() + " ms");
            Figures.print(test, "first new link after Redis returned", newLinks.toMillis() + " ms");

            assertThat(routedElsewhere).as("users routed to another pod than their own").isEmpty();
            assertThat(freshFailuresDuringOutage).isPositive();
            assertThat(fresh.failures().keySet()).containsOnly("RedisUnavailableException");
            assertThat(Duration.ofNanos(Math.max(cached.maxNanos(), fresh.maxNanos())))
                .isLessThanOrEqualTo(COMMAND_TIMEOUT.plus(LoadedMachine.LATENESS));
            result = new Result(heartbeat, refresh, newLinks, cached.failures());
        }
        finally {
            load.shutdownNow();
            load.awaitTermination(5, TimeUnit.SECONDS);
        }
        // Every pod's lease lapsed during the outage: once each has confirmed the users it held, every
        // user is still linked to its own pod (AOF), owned by it alone, and none was reported lost.
        await().atMost(Duration.ofSeconds(20))
            .until(() -> servers.stream().allMatch((each) -> each.leaseStatus().unconfirmedUsers() == 0));
        for (String uid : cachedUsers) {
            int own = podOf.get(uid);
            assertThat(client.getLinkedPodNotCache("out", uid, "chat")).as(uid).hasValue(own);
            for (int pod = 0; pod < PODS; pod++) {
                assertThat(servers.get(pod).owns(uid)).as(uid + " owned by pod " + pod).isEqualTo(pod == own);
            }
        }
        Figures.print(test, "held users that moved", "0 of " + cachedUsers.size());
        assertThat(reportedLost).as("users reported lost").isEmpty();
        return result;
    }

    /** Waits (at most 40 s) until the instant read is after {@code back}; returns how long after. */
    private static Duration awaitAfter(Instant back, java.util.function.Supplier<Instant> instant) {
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(10)).until(() -> {
            Instant at = instant.get();
            return at != null && at.isAfter(back);
        });
        return Duration.between(back, instant.get());
    }
}
