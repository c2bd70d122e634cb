package io.statefulroute.core.link;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.lettuce.core.api.sync.RedisCommands;
import io.statefulroute.core.ForeignNamespaceException;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.RedisMonitor;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.LeaseTerms;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** computeLinkedPod and friends on a Redis of its own, so command counters are exact. */
class ClientDriverTest {

    private static final String NS = "prod";

    private static final Duration POD_EXPIRY = Duration.ofSeconds(1);

    private RedisServer server;

    private TestRedis redis;

    private StatefulExecutor executor;

    private ServiceStateCache states;

    private StatefulRouteForClientDriver client;

    private RedisCommands<String, String> admin;

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
        this.executor = this.redis.executor();
        this.admin = this.redis.sync();
        this.states = new ServiceStateCache(this.executor, POD_EXPIRY);
        this.client = client(ClientOptions.defaults(NS));
    }

    @AfterEach
    void stop() {
        this.redis.close();
        this.server.close();
    }

    private void heartbeat(int pod, RoutingState state) {
        this.executor.setServiceState(NS, "chat", pod, state, 0);
    }

    @Test
    void aCachedHitCostsNoRedisCallAndANewUserExactlyOne() throws Exception {
        heartbeat(0, RoutingState.READY);
        heartbeat(1, RoutingState.READY);
        this.client.computeLinkedPod(NS, "warm-up", "chat");

        try (RedisMonitor monitor = new RedisMonitor(this.server.host(), this.server.port(), this.admin)) {
            int pod = this.client.computeLinkedPod(NS, "new-user", "chat");
            assertThat(monitor.clientCommands()).containsExactly("evalsha");

            for (int i = 0; i < 100; i++) {
                assertThat(this.client.computeLinkedPod(NS, "new-user", "chat")).isEqualTo(pod);
            }
            assertThat(monitor.clientCommands()).isEmpty();
        }
        assertThat(this.client.cacheStats().hits()).isGreaterThanOrEqualTo(100);
    }

    @Test
    void aFullCacheKeepsItsUsersAndANewUserCostsOnlyItsRoundTrip() throws Exception {
        heartbeat(0, RoutingState.READY);
        StatefulRouteForClientDriver small = client(
                new ClientOptions(NS, Duration.ofSeconds(300), Duration.ofSeconds(240), 3));
        for (int i = 0; i < 3; i++) {
            small.computeLinkedPod(NS, "regular-" + i, "chat");
        }

        try (RedisMonitor monitor = new RedisMonitor(this.server.host(), this.server.port(), this.admin)) {
            small.computeLinkedPod(NS, "one-visit", "chat");
            assertThat(monitor.clientCommands()).containsExactly("evalsha");
            assertThat(small.cacheStats().evictions()).isZero();
            for (int i = 0; i < 3; i++) {
                small.computeLinkedPod(NS, "regular-" + i, "chat");
            }
            assertThat(monitor.clientCommands()).isEmpty();

            // the user came back: now it is worth a place, and its link is read once more
            small.computeLinkedPod(NS, "one-visit", "chat");
            assertThat(monitor.clientCommands()).containsExactly("evalsha");
        }
        assertThat(small.cacheStats().size()).isLessThanOrEqualTo(3);
    }

    @Test
    void linksPastTheirTimeAreNeverAnsweredAndLaterWritesReclaimTheirPlaces() {
        heartbeat(0, RoutingState.READY);
        StatefulRouteForClientDriver shortLived = client(
                new ClientOptions(NS, Duration.ofSeconds(300), Duration.ofMillis(200), 1000));
        List<String> early = IntStream.range(0, 10).mapToObj((i) -> "early-" + i).toList();
        early.forEach((uid) -> shortLived.computeLinkedPod(NS, uid, "chat"));
        assertThat(shortLived.cacheStats().size()).isEqualTo(10);

        await().atMost(Duration.ofSeconds(5))
            .until(() -> early.stream().allMatch((uid) -> shortLived.getLinkedInCache(NS, uid, "chat").isEmpty()));
        // never answered, but still held: reading does not sweep
        assertThat(cachedUids(shortLived)).containsAll(early);

        // each write checks two entries; 30 writes walk the whole cache at least once
        for (int i = 0; i < 30; i++) {
            shortLived.computeLinkedPod(NS, "late-" + i, "chat");
        }
        assertThat(cachedUids(shortLived)).doesNotContainAnyElementsOf(early);
        assertThat(shortLived.cacheStats().evictions()).isGreaterThanOrEqualTo(10);
    }

    /**
     * While every cached link lives long, writes skip the sweep; a link cached with a shorter
     * life wakes it, so that link's place is still reclaimed once it ends.
     */
    @Test
    void aLinkEndingBeforeTheOthersIsReclaimedThoughTheSweepRested() {
        heartbeat(0, RoutingState.READY);
        StatefulRouteForClientDriver client = client(
                new ClientOptions(NS, Duration.ofSeconds(300), Duration.ofSeconds(240), 1000));
        IntStream.range(0, 10).forEach((i) -> client.computeLinkedPod(NS, "long-" + i, "chat"));
        client.setCache(NS, "brief", "chat", new LinkInfo(0, 150, false), System.nanoTime());

        await().atMost(Duration.ofSeconds(5)).until(() -> client.getLinkedInCache(NS, "brief", "chat").isEmpty());
        assertThat(cachedUids(client)).contains("brief");
        for (int i = 0; i < 20; i++) {
            client.computeLinkedPod(NS, "late-" + i, "chat");
        }

        assertThat(cachedUids(client)).doesNotContain("brief").contains("long-0", "long-9");
        assertThat(client.cacheStats().evictions()).isEqualTo(1);
    }

    /** A client of this test's executor and state cache, routing load-aware. */
    @Test
    void aBlockingCallGoesOnOnItsOwnThreadAfterEachReplyAndLeavesTheIoThreadFree() {
        heartbeat(0, RoutingState.READY);
        this.executor.setLinkedPod(NS, "linked-to-a-pod-never-seen", "chat", 5, 60);
        List<Thread> decidedOn = new CopyOnWriteArrayList<>();
        List<RouteOutcome> outcomes = new CopyOnWriteArrayList<>();
        StatefulRouteForClientDriver observed = new StatefulRouteForClientDriver(this.executor,
                new RouteInfoDriver(this.states, PodSelectionStrategy.LOAD_AWARE.newSelector()),
                ClientOptions.defaults(NS), new RouteListener() {

                    @Override
                    public void resolved(Object token, String namespace, String service, RouteOutcome outcome,
                            long nanos, Throwable error) {
                        decidedOn.add(Thread.currentThread());
                        outcomes.add(outcome);
                    }
                });

        for (int i = 0; i < 20; i++) {
            assertThat(observed.computeLinkedPod(NS, "new-" + i, "chat")).isZero();
        }
        // pod 5 shut down after the view was read
        heartbeat(5, RoutingState.SHUTDOWN);
        // three steps: the link, the service read again (pod 5 is unknown), the move
        assertThat(observed.computeLinkedPod(NS, "linked-to-a-pod-never-seen", "chat")).isZero();

        assertThat(decidedOn).hasSize(21).containsOnly(Thread.currentThread());
        assertThat(outcomes).containsOnly(RouteOutcome.NEW_LINK, RouteOutcome.RELINKED).endsWith(RouteOutcome.RELINKED);
        assertThat(cachedUids(observed)).hasSize(21);
    }

    /**
     * A link to a pod with no entry in Redis (a failover lost it, or the pod is long gone): the
     * pod may be alive, so its user moves only once it has been silent for a whole pod expiry
     * plus relink grace, counted from the first read that missed it.
     */
    @Test
    void aUserOfAPodWithNoEntryMovesOnlyOnceThePodWasSilentForAWholeLease() {
        StatefulRouteForClientDriver gateway = client(new ServiceStateCache(this.executor, POD_EXPIRY,
                Duration.ofMillis(500)));
        heartbeat(0, RoutingState.READY);
        this.executor.setLinkedPod(NS, "orphan", "chat", 7, RouteArguments.PERSIST_FOREVER);
        long before = System.nanoTime();
        assertThat(gateway.computeLinkedPod(NS, "orphan", "chat")).as("pod 7 may be alive").isEqualTo(7);

        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
            heartbeat(0, RoutingState.READY);
            return gateway.computeLinkedPod(NS, "orphan", "chat") == 0;
        });
        assertThat(Duration.ofNanos(System.nanoTime() - before)).as("moved no sooner than expiry plus grace")
            .isGreaterThanOrEqualTo(Duration.ofMillis(1500));
    }

    /**
     * A pod's entry that vanished (as a failover that lost the pods hash would make it) keeps
     * its last heartbeat time: the pod's users move once that is a pod expiry plus relink grace
     * old on Redis' clock, not at once, and not later than a pod that stopped heartbeating.
     */
    @Test
    void aVanishedEntryKeepsItsLastHeartbeatTime() {
        ServiceStateCache states = new ServiceStateCache(this.executor, POD_EXPIRY, Duration.ofMillis(500));
        StatefulRouteForClientDriver gateway = client(states);
        heartbeat(0, RoutingState.READY);
        long stamped = this.executor.heartbeatAsync(NS, "chat", 6, RoutingState.READY, 0, null, null).join();
        this.executor.setLinkedPod(NS, "kept", "chat", 6, RouteArguments.PERSIST_FOREVER);
        assertThat(gateway.computeLinkedPod(NS, "kept", "chat")).isEqualTo(6);
        this.admin.hdel("test:{s:prod:chat}:pods", "6");

        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
            heartbeat(0, RoutingState.READY);
            states.refresh();
            return gateway.computeLinkedPod(NS, "kept", "chat") == 0;
        });
        assertThat(redisMillis()).isGreaterThanOrEqualTo(stamped + 1500);
    }

    /** A pod is dead, and its users move, by the expiry and grace it publishes, not the gateway's own. */
    @Test
    void aPodIsJudgedByTheLeaseTermsItPublishes() {
        ServiceStateCache states = new ServiceStateCache(this.executor, Duration.ofSeconds(30), Duration.ofSeconds(30));
        StatefulRouteForClientDriver gateway = client(states);
        heartbeat(0, RoutingState.READY);
        this.executor.heartbeatAsync(NS, "chat", 3, RoutingState.READY, 0, null, null,
                new LeaseTerms(Duration.ofMillis(200), Duration.ofMillis(100))).join();
        this.executor.setLinkedPod(NS, "quick", "chat", 3, RouteArguments.PERSIST_FOREVER);
        assertThat(states.reloadAsync(NS, "chat").join().pod(3).leaseTerms())
            .isEqualTo(new LeaseTerms(Duration.ofMillis(200), Duration.ofMillis(100)));

        // with the gateway's own terms, a minute
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
            heartbeat(0, RoutingState.READY);
            states.refresh();
            return gateway.computeLinkedPod(NS, "quick", "chat") == 0;
        });
    }

    /**
     * A pod whose entry this version cannot read (a newer version's routing state) but whose
     * heartbeat time it can: it gets no new users, and its users stay while it heartbeats.
     */
    @Test
    void aPodInAStateThisVersionDoesNotKnowKeepsItsUsersWhileItHeartbeats() {
        StatefulRouteForClientDriver gateway = client(new ServiceStateCache(this.executor, POD_EXPIRY,
                Duration.ofMillis(500)));
        heartbeat(0, RoutingState.READY);
        this.executor.setLinkedPod(NS, "newer", "chat", 4, RouteArguments.PERSIST_FOREVER);
        long until = System.nanoTime() + Duration.ofMillis(2500).toNanos();
        while (System.nanoTime() - until < 0) {
            heartbeat(0, RoutingState.READY);
            this.admin.hset("test:{s:prod:chat}:pods", "4", redisMillis() + ":WARMING_UP:0");
            assertThat(gateway.computeLinkedPod(NS, "newer", "chat")).isEqualTo(4);
            assertThat(gateway.computeLinkedPod(NS, "fresh-" + System.nanoTime(), "chat")).isZero();
        }
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
            heartbeat(0, RoutingState.READY);
            return gateway.computeLinkedPod(NS, "newer", "chat") == 0;
        });
    }

    /**
     * Redis restarts empty (its identity changes): the gateway stops trusting its cached links,
     * and a user whose link Redis lost goes back to the pod it was cached with, though another
     * pod is less loaded, so the pod that holds it can restore its link.
     */
    @Test
    void afterRedisLostItsLinksAUserGoesBackToThePodItWasCachedWith() {
        this.client.listenForLinkChanges();
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            this.client.checkLinkChanges().join();
            return this.client.isFollowingLinkChanges();
        });
        this.executor.setServiceState(NS, "chat", 0, RoutingState.READY, 0);
        this.executor.setServiceState(NS, "chat", 1, RoutingState.READY, 50);
        this.executor.setLinkedPod(NS, "held", "chat", 1, RouteArguments.PERSIST_FOREVER);
        assertThat(this.client.computeLinkedPod(NS, "held", "chat")).isEqualTo(1);

        this.server.stop();
        this.server.start();
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
            this.executor.setServiceState(NS, "chat", 0, RoutingState.READY, 0);
            this.executor.setServiceState(NS, "chat", 1, RoutingState.READY, 50);
            this.states.refresh();
            this.client.checkLinkChanges().join();
            return !this.client.isFollowingLinkChanges();
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            this.executor.setServiceState(NS, "chat", 0, RoutingState.READY, 0);
            this.executor.setServiceState(NS, "chat", 1, RoutingState.READY, 50);
            this.states.refresh();
            return this.client.computeLinkedPod(NS, "held", "chat") == 1
                    && this.executor.getLinkedPod(NS, "held", "chat").isPresent();
        });
        assertThat(this.executor.getLinkedPod(NS, "held", "chat")).hasValue(1);
        assertThat(this.client.computeLinkedPod(NS, "fresh", "chat")).as("a new user: the least loaded pod").isZero();
    }

    private long redisMillis() {
        List<String> time = this.admin.time();
        return Long.parseLong(time.get(0)) * 1000 + Long.parseLong(time.get(1)) / 1000;
    }

    private StatefulRouteForClientDriver client(ServiceStateCache states) {
        return new StatefulRouteForClientDriver(this.executor,
                new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector()), ClientOptions.defaults(NS));
    }

    private StatefulRouteForClientDriver client(ClientOptions options) {
        return new StatefulRouteForClientDriver(this.executor,
                new RouteInfoDriver(this.states, PodSelectionStrategy.LOAD_AWARE.newSelector()), options);
    }

    private static Set<Object> cachedUids(StatefulRouteForClientDriver client) {
        return new HashSet<>(client.nativeCache().asMap().keySet());
    }

    @Test
    void eachServiceOfAUserIsCachedAndDroppedOnItsOwn() throws Exception {
        heartbeat(0, RoutingState.READY);
        this.executor.setServiceState(NS, "game", 0, RoutingState.READY, 0);
        int chat = this.client.computeLinkedPod(NS, "two-services", "chat");
        int game = this.client.computeLinkedPod(NS, "two-services", "game");

        try (RedisMonitor monitor = new RedisMonitor(this.server.host(), this.server.port(), this.admin)) {
            this.client.cacheExpired(NS, "two-services", "chat");
            assertThat(this.client.computeLinkedPod(NS, "two-services", "game")).isEqualTo(game);
            assertThat(monitor.clientCommands()).isEmpty();
            assertThat(this.client.computeLinkedPod(NS, "two-services", "chat")).isEqualTo(chat);
            assertThat(monitor.clientCommands()).containsExactly("evalsha");
        }
        assertThat(this.client.getLinkedInCache(NS, "two-services", "chat")).hasValue(chat);
        assertThat(this.client.getLinkedInCache(NS, "two-services", "game")).hasValue(game);
        assertThat(this.client.getLinkedInCache("other", "two-services", "game")).isEmpty();
        assertThat(this.client.cacheStats().size()).isEqualTo(2);
    }

    @Test
    void newUsersSpreadOverReadyPodsOnly() {
        heartbeat(0, RoutingState.READY);
        heartbeat(1, RoutingState.READY);
        heartbeat(2, RoutingState.DENY_NEW_CALL);
        heartbeat(3, RoutingState.SHUTDOWN);

        Set<Integer> used = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            used.add(this.client.computeLinkedPod(NS, "u" + i, "chat"));
        }

        assertThat(used).containsExactlyInAnyOrder(0, 1);
    }

    @Test
    void aDrainingPodKeepsItsUsersButGetsNoNewOnes() {
        heartbeat(0, RoutingState.READY);
        heartbeat(1, RoutingState.READY);
        this.executor.setLinkedPod(NS, "loyal", "chat", 1, RouteArguments.PERSIST_FOREVER);

        heartbeat(1, RoutingState.DENY_NEW_CALL);
        this.states.refresh();

        assertThat(this.client.computeLinkedPod(NS, "loyal", "chat")).isEqualTo(1);
        for (int i = 0; i < 50; i++) {
            assertThat(this.client.computeLinkedPod(NS, "newcomer" + i, "chat")).isZero();
        }
    }

    @Test
    void aDeadPodGetsNoNewUsersAndItsUsersAreRelinkedOnce() throws Exception {
        heartbeat(0, RoutingState.READY);
        heartbeat(1, RoutingState.READY);
        this.executor.setLinkedPod(NS, "orphan", "chat", 1, RouteArguments.PERSIST_FOREVER);
        assertThat(this.client.computeLinkedPod(NS, "orphan", "chat")).isEqualTo(1);

        // pod 1 stops heartbeating; pod 0 keeps going until pod 1's state has expired
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> {
            heartbeat(0, RoutingState.READY);
            this.states.refresh();
            return !this.states.cachedView(NS, "chat").isAlive(1);
        });

        // dead, but its lease may not have lapsed on every clock yet: the user stays for the relink grace
        assertThat(this.client.computeLinkedPod(NS, "orphan", "chat")).isEqualTo(1);
        assertThat(this.executor.getLinkedPod(NS, "orphan", "chat")).hasValue(1);
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> {
            heartbeat(0, RoutingState.READY);
            this.states.refresh();
            return this.client.computeLinkedPod(NS, "orphan", "chat") == 0;
        });
        assertThat(this.executor.getLinkedPod(NS, "orphan", "chat")).hasValue(0);
        try (RedisMonitor monitor = new RedisMonitor(this.server.host(), this.server.port(), this.admin)) {
            assertThat(this.client.computeLinkedPod(NS, "orphan", "chat")).isZero();
            assertThat(monitor.clientCommands()).as("relinked once, then served from the cache").isEmpty();
        }
        for (int i = 0; i < 50; i++) {
            assertThat(this.client.computeLinkedPod(NS, "late" + i, "chat")).isZero();
        }
    }

    @Test
    void aUserLinkedToAPodNewerThanTheViewIsNotMovedAway() {
        heartbeat(0, RoutingState.READY);
        this.client.computeLinkedPod(NS, "warm-up", "chat");
        heartbeat(7, RoutingState.READY);
        this.executor.setLinkedPod(NS, "on-new-pod", "chat", 7, RouteArguments.PERSIST_FOREVER);

        assertThat(this.client.computeLinkedPod(NS, "on-new-pod", "chat")).isEqualTo(7);
        assertThat(this.executor.getLinkedPod(NS, "on-new-pod", "chat")).hasValue(7);
    }

    @Test
    void noRoutablePodIsATypedErrorButExistingUsersOfDrainingPodsStillResolve() {
        heartbeat(0, RoutingState.DENY_NEW_CALL);
        this.executor.setLinkedPod(NS, "loyal", "chat", 0, RouteArguments.PERSIST_FOREVER);

        assertThat(this.client.computeLinkedPod(NS, "loyal", "chat")).isZero();
        assertThatThrownBy(() -> this.client.computeLinkedPod(NS, "newcomer", "chat"))
            .isInstanceOf(NoRoutablePodException.class).hasMessageContaining("chat");
        assertThatThrownBy(() -> this.client.computeLinkedPod(NS, "anyone", "never-heard-of"))
            .isInstanceOf(NoRoutablePodException.class);
        assertThat(this.executor.getLinkedPod(NS, "newcomer", "chat")).isEmpty();
    }

    @Test
    void foreignNamespacesCanBeReadButNotLinked() {
        this.executor.setLinkedPod("staging", "known", "chat", 2, RouteArguments.PERSIST_FOREVER);
        this.executor.setServiceState("staging", "chat", 2, RoutingState.READY, 0);

        assertThat(this.client.computeLinkedPod("staging", "known", "chat")).isEqualTo(2);
        assertThatThrownBy(() -> this.client.computeLinkedPod("staging", "unknown", "chat"))
            .isInstanceOf(ForeignNamespaceException.class).hasMessageContaining("staging");
        assertThatThrownBy(() -> this.client.setLinkedPodIfAbsent("staging", "unknown", "chat", 1))
            .isInstanceOf(ForeignNamespaceException.class);
        assertThat(this.executor.getLinkedPod("staging", "unknown", "chat")).isEmpty();
    }

    @Test
    void asyncFormGivesTheSameAnswer() {
        heartbeat(4, RoutingState.READY);
        assertThat(this.client.computeLinkedPodAsync(NS, "u1", "chat").join()).isEqualTo(4);
        assertThat(this.client.computeLinkedPodAsync(NS, "u1", "chat")).isCompletedWithValue(4);
        assertThat(this.client.getLinkedPodAsync(NS, "u1", "chat").join()).hasValue(4);
    }

    @Test
    void cacheLookupsAndControl() {
        heartbeat(0, RoutingState.READY);
        this.executor.setLinkedPod(NS, "temp", "chat", 0, 300);
        this.executor.setLinkedPod(NS, "kept", "chat", 0, RouteArguments.PERSIST_FOREVER);

        assertThat(this.client.getLinkedInCache(NS, "temp", "chat")).isEmpty();
        assertThat(this.client.getLinkedPodInCacheOrIfPersist(NS, "temp", "chat")).isEmpty();
        assertThat(this.client.getLinkedPodInCacheOrIfPersist(NS, "kept", "chat")).hasValue(0);
        assertThat(this.client.getLinkedPod(NS, "temp", "chat")).hasValue(0);
        assertThat(this.client.getLinkedInCache(NS, "temp", "chat")).hasValue(0);

        this.client.setCache(NS, "temp", "chat", 5);
        assertThat(this.client.getLinkedInCache(NS, "temp", "chat")).hasValue(5);
        this.client.cacheExpired(NS, "temp", "chat");
        assertThat(this.client.getLinkedInCache(NS, "temp", "chat")).isEmpty();
        assertThat(this.client.getLinkedPodNotCache(NS, "temp", "chat")).hasValue(0);
        assertThat(this.client.setLinkedPodIfAbsent(NS, "fresh", "chat", 0)).isZero();
        assertThat(this.client.getLinkService(NS, "fresh")).containsEntry("chat", 0);
    }

    @Test
    void aCachedLinkNeverOutlivesItsRedisLink() {
        heartbeat(0, RoutingState.READY);
        this.executor.setLinkedPod(NS, "short", "chat", 0, 1);
        assertThat(this.client.computeLinkedPod(NS, "short", "chat")).isZero();

        // the cache entry ends no later than the Redis link (it may end a few ms sooner)
        await().atMost(Duration.ofSeconds(5)).until(() -> this.executor.getLinkedPod(NS, "short", "chat").isEmpty());
        assertThat(this.client.getLinkedInCache(NS, "short", "chat")).isEmpty();
    }

    @Test
    void setCacheNeverOutlivesTheRedisLinkItStandsFor() {
        heartbeat(0, RoutingState.READY);
        // unknown remaining life: no longer than the fallback TTL (1 s by default), not the 240 s cache TTL
        this.client.setCache(NS, "told", "chat", 0);
        assertThat(this.client.getLinkedInCache(NS, "told", "chat")).hasValue(0);
        await().atMost(Duration.ofSeconds(3)).until(() -> this.client.getLinkedInCache(NS, "told", "chat").isEmpty());

        long readAt = System.nanoTime();
        this.client.setCache(NS, "known", "chat", new LinkInfo(0, 500, false), readAt);
        this.client.setCache(NS, "kept", "chat", new LinkInfo(0, -1, false), readAt);
        await().atMost(Duration.ofSeconds(3)).until(() -> this.client.getLinkedInCache(NS, "known", "chat").isEmpty());
        assertThat(this.client.getLinkedInCache(NS, "kept", "chat")).hasValue(0);
    }
}
