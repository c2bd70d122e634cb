package io.statefulroute.reliability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.RouteListener;
import io.statefulroute.core.link.RouteOutcome;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.lifecycle.StatefulRouteLifecycle;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A bounded load test on one Redis (loopback only, 3000 users, 20 s of load): three gateways
 * (each its own connection, state cache and link cache, refreshed and following link notices
 * through the starter's {@link StatefulRouteLifecycle}) route users continuously while five pods
 * start, drain, die and stop; a pod persists the link of every user it receives.
 *
 * <p>Checked over every routing decision:
 * <ul>
 * <li><b>never two pods at once</b>: an independent subscriber timestamps every link change
 * notice (Redis publishes it in the same atomic step as the change). Between two consecutive
 * notices for a uid the link is one pod; every decision that started at least {@link #NOTICE_GRACE}
 * after one notice and ended {@link #NOTICE_GRACE} before the next was seen must name the same
 * pod, whichever gateway made it. Decisions that close to a change are counted as excluded, not
 * checked (the decision that made a change ends before the subscriber sees its notice). Pods also report
 * any user they could not take because another pod holds it persistently.
 * <li><b>no new links to draining or dead pods</b> once the state cache could know: after the
 * drain was published plus one refresh period, or after the last heartbeat plus the pod expiry
 * plus the relink grace plus one refresh period (each plus {@link LoadedMachine#LATENESS} for a loaded machine);
 * <li><b>every user of a dead pod relinked</b>: no decision names a dead pod after that bound,
 * and a final sweep routes every user to a live pod, the same on every gateway and in Redis.
 * </ul>
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RoutingLoadTest {

    private static final String NS = "load";

    private static final String SERVICE = "chat";

    private static final int USERS = 3000;

    private static final int GATEWAYS = 3;

    private static final Duration LOAD = Duration.ofSeconds(20);

    private static final Duration POD_EXPIRY = Duration.ofSeconds(2);

    private static final Duration REFRESH = Duration.ofMillis(250);

    /** Users of a dead pod move this long after its pod expiry, once its lease has certainly lapsed. */
    private static final Duration RELINK_GRACE = Duration.ofMillis(500);

    private static final Duration HEARTBEAT = Duration.ofMillis(200);

    /** Time a link change notice may take to reach every gateway. */
    private static final Duration NOTICE_GRACE = Duration.ofMillis(250);

    private final String prefix = StarterContexts.uniquePrefix();

    private long origin;

    private record Decision(String uid, int gateway, int pod, long start, long end, RouteOutcome outcome) {
    }

    private final ConcurrentLinkedQueue<Decision> decisions = new ConcurrentLinkedQueue<>();

    private final Map<String, List<Long>> notices = new ConcurrentHashMap<>();

    private final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();

    private final Map<Long, AtomicLong> failureSeconds = new java.util.concurrent.ConcurrentSkipListMap<>();

    private final AtomicInteger refusedByPods = new AtomicInteger();

    @Test
    void podsStartDrainDieAndStopWhileUsersAreRouted() throws Exception {
        try (RedisServer redis = RedisServers.standalone().start()) {
            RedisClient lettuce = RedisClient.create(RedisURI.create(redis.uri()));
            List<AutoCloseable> closing = new ArrayList<>();
            ScheduledExecutorService heartbeats = Executors.newScheduledThreadPool(2);
            ScheduledExecutorService load = Executors.newScheduledThreadPool(GATEWAYS * 2);
            try {
                StatefulRedisPubSubConnection<String, String> observer = lettuce.connectPubSub(StringCodec.UTF8);
                closing.add(observer::close);
                observer.addListener(new RedisPubSubAdapter<>() {
                    @Override
                    public void message(String channel, String message) {
                        long at = System.nanoTime();
                        String[] parts = message.split(" ");
                        if (parts.length == 3 && parts[0].equals(NS)) {
                            notices.computeIfAbsent(parts[1], (uid) -> Collections.synchronizedList(new ArrayList<>())).add(at);
                        }
                    }
                });
                observer.sync().subscribe(this.prefix + ":link-changes");

                RedisStatefulExecutor podExecutor = executor(lettuce, closing);
                SimPod[] pods = new SimPod[5];
                for (int i = 0; i < pods.length; i++) {
                    pods[i] = new SimPod(new StatefulRouteForServerDriver(podExecutor,
                            new ServerOptions(new PodIdentity(NS, SERVICE, i), 0, Duration.ofMillis(1500))
                                .withLease(POD_EXPIRY, POD_EXPIRY.dividedBy(5), RELINK_GRACE)), heartbeats);
                }
                List<Gateway> gateways = new ArrayList<>();
                for (int g = 0; g < GATEWAYS; g++) {
                    gateways.add(new Gateway(g, executor(lettuce, closing)));
                }
                this.origin = System.nanoTime();
                pods[0].start();
                pods[1].start();
                pods[2].start();
                for (Gateway gateway : gateways) {
                    gateway.start();
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> gateways.stream().allMatch(Gateway::following));

                long deadline = System.nanoTime() + LOAD.toNanos();
                for (Gateway gateway : gateways) {
                    for (int t = 0; t < 2; t++) {
                        load.scheduleAtFixedRate(() -> {
                            if (System.nanoTime() - deadline < 0) {
                                for (int i = 0; i < 10; i++) {
                                    route(gateway, "u-" + ThreadLocalRandom.current().nextInt(USERS), pods);
                                }
                            }
                        }, 0, 20, TimeUnit.MILLISECONDS);
                    }
                }
                // The pods' life: start, drain, die, stop (gracefully), at fixed moments.
                heartbeats.schedule(pods[3]::start, 3, TimeUnit.SECONDS);
                heartbeats.schedule(pods[1]::drain, 5, TimeUnit.SECONDS);
                heartbeats.schedule(pods[2]::die, 8, TimeUnit.SECONDS);
                heartbeats.schedule(pods[4]::start, 11, TimeUnit.SECONDS);
                heartbeats.schedule(pods[1]::die, 13, TimeUnit.SECONDS);
                heartbeats.schedule(pods[3]::stopGracefully, 15, TimeUnit.SECONDS);
                await().atMost(LOAD.plusSeconds(10)).until(() -> System.nanoTime() - deadline > 0
                        && pods[3].stopped != 0);
                load.shutdown();
                assertThat(load.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

                // Final sweep: every user reaches a live pod, the same one on every gateway and in Redis.
                Set<String> routed = new HashSet<>();
                this.decisions.forEach((decision) -> routed.add(decision.uid()));
                for (String uid : routed) {
                    int first = -1;
                    for (Gateway gateway : gateways) {
                        int pod = gateway.client.computeLinkedPod(NS, uid, SERVICE);
                        assertThat(pod).as(uid).isIn(0, 4);
                        if (first < 0) {
                            first = pod;
                        }
                        assertThat(pod).as(uid + " on gateway " + gateway.index).isEqualTo(first);
                    }
                    assertThat(podExecutor.getLinkedPod(NS, uid, SERVICE)).as(uid).hasValue(first);
                }
                check(pods, routed.size());
                Figures.print("load", "users routed in the final sweep", routed.size() + " on " + GATEWAYS
                        + " gateways, all on live pods and agreeing");
                for (Gateway gateway : gateways) {
                    gateway.lifecycle.stop();
                }
            }
            finally {
                load.shutdownNow();
                heartbeats.shutdownNow();
                for (AutoCloseable closeable : closing) {
                    closeable.close();
                }
                lettuce.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }
        }
    }

    private RedisStatefulExecutor executor(RedisClient lettuce, List<AutoCloseable> closing) {
        RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
            .ownedConnection(lettuce.connect(StringCodec.UTF8))
            .pubSubConnections(() -> lettuce.connectPubSub(StringCodec.UTF8))
            .keyPrefix(this.prefix)
            .commandTimeout(Duration.ofSeconds(1))
            .build();
        closing.add(executor);
        return executor;
    }

    private void route(Gateway gateway, String uid, SimPod[] pods) {
        Outcome holder = new Outcome();
        gateway.current.set(holder);
        long start = System.nanoTime();
        int pod;
        try {
            pod = gateway.client.computeLinkedPod(NS, uid, SERVICE);
        }
        catch (RuntimeException ex) {
            this.failures.computeIfAbsent(ex.getClass().getSimpleName(), (type) -> new AtomicLong()).incrementAndGet();
            this.failureSeconds.computeIfAbsent((System.nanoTime() - this.origin) / 1_000_000_000, (s) -> new AtomicLong())
                .incrementAndGet();
            return;
        }
        finally {
            gateway.current.remove();
        }
        long end = System.nanoTime();
        RouteOutcome outcome = (holder.outcome != null) ? holder.outcome : RouteOutcome.CACHE_HIT;
        this.decisions.add(new Decision(uid, gateway.index, pod, start, end, outcome));
        pods[pod].receive(uid);
    }

    private void check(SimPod[] pods, int users) {
        Map<String, List<Decision>> byUid = new HashMap<>();
        Map<RouteOutcome, Integer> outcomes = new HashMap<>();
        for (Decision decision : this.decisions) {
            byUid.computeIfAbsent(decision.uid(), (uid) -> new ArrayList<>()).add(decision);
            outcomes.merge(decision.outcome(), 1, Integer::sum);
        }
        long grace = NOTICE_GRACE.toNanos();
        int checked = 0;
        int excluded = 0;
        int epochs = 0;
        List<String> splits = new ArrayList<>();
        for (Map.Entry<String, List<Decision>> entry : byUid.entrySet()) {
            List<Long> changes = new ArrayList<>(this.notices.getOrDefault(entry.getKey(), List.of()));
            Collections.sort(changes);
            List<Long> changedBy = changesMadeBy(entry.getValue(), changes);
            epochs += changes.size() + 1;
            Map<Integer, Integer> podOfEpoch = new HashMap<>();
            for (Decision decision : entry.getValue()) {
                int epoch = 0;
                while (epoch < changes.size() && changes.get(epoch) <= decision.start()) {
                    epoch++;
                }
                boolean afterGrace = epoch == 0 || decision.start() - changes.get(epoch - 1) >= grace;
                // A decision ending after the next change began may already see the new link: excluded too.
                boolean beforeNext = epoch == changes.size()
                        || decision.end() <= Math.min(changes.get(epoch), changedBy.get(epoch)) - grace;
                if (!afterGrace || !beforeNext) {
                    excluded++;
                    continue;
                }
                checked++;
                Integer pod = podOfEpoch.putIfAbsent(epoch, decision.pod());
                if (pod != null && pod != decision.pod() && splits.size() < 20) {
                    splits.add(entry.getKey() + " epoch " + epoch + ": pod " + pod + " and pod " + decision.pod()
                            + " (gateway " + decision.gateway() + ", " + decision.outcome() + " at "
                            + Figures.millis(decision.start() - this.origin) + ")");
                }
            }
        }

        long refresh = REFRESH.toNanos();
        long late = LoadedMachine.LATENESS.toNanos();
        List<String> newLinksTooLate = new ArrayList<>();
        List<String> deadRoutes = new ArrayList<>();
        long maxNewLinkAfterDrain = Long.MIN_VALUE;
        long maxRouteAfterDeath = Long.MIN_VALUE;
        Map<Integer, Set<String>> usersOfDeadPods = new HashMap<>();
        for (Decision decision : this.decisions) {
            SimPod pod = pods[decision.pod()];
            boolean created = decision.outcome() == RouteOutcome.NEW_LINK || decision.outcome() == RouteOutcome.RELINKED;
            if (created && pod.drained != 0) {
                maxNewLinkAfterDrain = Math.max(maxNewLinkAfterDrain, decision.start() - pod.drained);
                if (decision.start() > pod.drained + refresh + late) {
                    newLinksTooLate.add(describe(decision, "draining since", pod.drained));
                }
            }
            long gone = pod.goneAt();
            if (gone != 0) {
                if (decision.start() < gone) {
                    usersOfDeadPods.computeIfAbsent(decision.pod(), (p) -> new HashSet<>()).add(decision.uid());
                }
                long known = gone + ((pod.died != 0) ? POD_EXPIRY.plus(RELINK_GRACE).toNanos() : 0) + refresh;
                maxRouteAfterDeath = Math.max(maxRouteAfterDeath, decision.start() - known);
                if (decision.start() > known + late) {
                    (created ? newLinksTooLate : deadRoutes).add(describe(decision, "gone since", gone));
                }
            }
        }
        int relinked = 0;
        int usersOfDead = 0;
        for (Map.Entry<Integer, Set<String>> entry : usersOfDeadPods.entrySet()) {
            long known = pods[entry.getKey()].goneAt() + POD_EXPIRY.plus(RELINK_GRACE).toNanos() + refresh;
            for (String uid : entry.getValue()) {
                usersOfDead++;
                boolean later = byUid.get(uid).stream().anyMatch((d) -> d.start() > known && d.pod() != entry.getKey());
                if (later) {
                    relinked++;
                }
            }
        }

        Figures.print("load", "users / gateways / pods", users + " / " + GATEWAYS + " / " + pods.length);
        Figures.print("load", "routing decisions", this.decisions.size() + " " + outcomes);
        Figures.print("load", "failed calls", this.failures + " by second of the run " + this.failureSeconds);
        Figures.print("load", "link change notices seen", this.notices.values().stream().mapToInt(List::size).sum());
        Figures.print("load", "decisions checked for one-pod-at-a-time", checked + " (" + excluded
                + " overlapping a change excluded, " + epochs + " uid epochs)");
        Figures.print("load", "uids on two pods at once", splits.size());
        Figures.print("load", "users refused by a pod (held persistently elsewhere)", this.refusedByPods.get());
        Figures.print("load", "new links to draining or dead pods after the cache could know", newLinksTooLate.size());
        Figures.print("load", "latest new link to a draining pod, after its drain",
                maxNewLinkAfterDrain == Long.MIN_VALUE ? "none" : Figures.millis(maxNewLinkAfterDrain));
        Figures.print("load", "latest route to a dead or stopped pod, after the cache could know",
                maxRouteAfterDeath == Long.MIN_VALUE ? "none" : Figures.millis(maxRouteAfterDeath));
        Figures.print("load", "users of dead or stopped pods relinked on a later call", relinked + " of " + usersOfDead
                + " (the rest were not called again before the sweep)");
        assertThat(splits).as("uids routed to two pods at once").isEmpty();
        assertThat(this.refusedByPods).hasValue(0);
        assertThat(newLinksTooLate).as("new links to draining or dead pods").isEmpty();
        assertThat(deadRoutes).as("routes to dead pods after the cache could know").isEmpty();
        assertThat(this.failures).as("failed calls").isEmpty();
        assertThat(relinked).isPositive();
    }

    /**
     * When each change of a uid began on the gateway that made it: every notice in this test comes from
     * one relinking decision (the only write that moves a user), and Redis orders them, so the k-th
     * relink pairs with the k-th notice. The observer can hear a notice long after the change on a
     * loaded machine; a decision ending just before that late notice may already see the new link, so it
     * counts as overlapping the change. Where the counts differ, the notices alone delimit the changes.
     */
    private static List<Long> changesMadeBy(List<Decision> decisions, List<Long> notices) {
        List<Long> relinkStarts = decisions.stream()
            .filter((decision) -> decision.outcome() == RouteOutcome.RELINKED)
            .map(Decision::start)
            .sorted()
            .toList();
        return (relinkStarts.size() == notices.size()) ? relinkStarts : notices;
    }

    private String describe(Decision decision, String what, long since) {
        return decision.uid() + " -> pod " + decision.pod() + " (" + decision.outcome() + ", gateway "
                + decision.gateway() + ") " + Figures.millis(decision.start() - since) + " after " + what;
    }

    /** Carries a routing decision's outcome from the route listener to the caller. */
    private static final class Outcome {

        volatile RouteOutcome outcome;
    }

    private final class Gateway {

        final int index;

        final ThreadLocal<Outcome> current = new ThreadLocal<>();

        final StatefulRouteForClientDriver client;

        final StatefulRouteLifecycle lifecycle;

        Gateway(int index, RedisStatefulExecutor executor) {
            this.index = index;
            ServiceStateCache states = new ServiceStateCache(executor, POD_EXPIRY, RELINK_GRACE);
            RouteListener listener = new RouteListener() {
                @Override
                public Object resolving(String namespace, String uid, String service) {
                    return current.get();
                }

                @Override
                public void resolved(Object token, String namespace, String service, RouteOutcome outcome, long nanos,
                        Throwable error) {
                    if (token instanceof Outcome holder) {
                        holder.outcome = outcome;
                    }
                }
            };
            this.client = new StatefulRouteForClientDriver(executor,
                    new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector()), ClientOptions.defaults(NS),
                    listener);
            this.lifecycle = new StatefulRouteLifecycle(states, this.client, null,
                    new StatefulRouteLifecycle.Settings(REFRESH, Duration.ofSeconds(1), Duration.ofSeconds(2), true, true));
        }

        void start() {
            this.lifecycle.start();
            // The service becomes known to the state cache, which then refreshes it on its period.
            this.client.routeInfo().serviceState(NS, SERVICE);
        }

        boolean following() {
            return this.client.isFollowingLinkChanges();
        }
    }

    /** A pod: heartbeats on a period, persists the link of every user it receives while it lives. */
    private final class SimPod {

        final StatefulRouteForServerDriver server;

        final ScheduledExecutorService scheduler;

        final Set<String> held = ConcurrentHashMap.newKeySet();

        volatile ScheduledFuture<?> heartbeat;

        volatile long drained;

        volatile long died;

        volatile long stopped;

        SimPod(StatefulRouteForServerDriver server, ScheduledExecutorService scheduler) {
            this.server = server;
            this.scheduler = scheduler;
        }

        void start() {
            this.server.start();
            this.heartbeat = this.scheduler.scheduleAtFixedRate(this.server::heartbeatAsync, HEARTBEAT.toMillis(),
                    HEARTBEAT.toMillis(), TimeUnit.MILLISECONDS);
        }

        void drain() {
            this.server.setRoutingState(RoutingState.DENY_NEW_CALL);
            this.drained = System.nanoTime();
        }

        /** Crashes: no more heartbeats, no more users; its entry stays in Redis until it ages out. */
        void die() {
            this.heartbeat.cancel(false);
            this.died = System.nanoTime();
        }

        /** Drains (DENY_NEW_CALL at once), then publishes SHUTDOWN: its users move on their next call. */
        void stopGracefully() {
            this.drained = System.nanoTime();
            this.server.stopAsync().thenRun(() -> {
                this.heartbeat.cancel(false);
                this.stopped = System.nanoTime();
            });
        }

        long goneAt() {
            return (this.died != 0) ? this.died : this.stopped;
        }

        void receive(String uid) {
            if (goneAt() != 0 || this.held.contains(uid)) {
                return;
            }
            TrySetResult result = this.server.trySetLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
            if (result.success()) {
                this.held.add(uid);
            }
            else {
                refusedByPods.incrementAndGet();
            }
        }
    }
}
