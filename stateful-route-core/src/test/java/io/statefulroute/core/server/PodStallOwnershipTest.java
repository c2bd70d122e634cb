package io.statefulroute.core.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Pod 0 holds every user, then stalls for two pod expiries while two gateways keep routing
 * and the users reach their new pods; afterwards no user is owned by two pods, pods and Redis
 * agree, every lost user was reported once, and no gateway moved a user before pod 0's lease
 * had lapsed. Pod 0 reaches Redis through a proxy the test blocks: FROZEN also stops its
 * heartbeats (a GC pause or a stopped VM, as far as Redis can tell), CUT_OFF keeps them trying;
 * SILENT_ON_CLUSTER stops its heartbeats on a Redis Cluster.
 */
class PodStallOwnershipTest {

    enum Stall {

        /** Heartbeats stopped and Redis access blocked. */
        FROZEN,

        /** Redis access blocked, heartbeats keep trying. */
        CUT_OFF,

        /**
         * On a 3-master cluster, heartbeats stopped (no proxy: cluster redirects name the real
         * nodes); the pod learns its losses from notices and per-slot pipelined reconciles.
         */
        SILENT_ON_CLUSTER
    }

    private static final Duration POD_EXPIRY = Duration.ofMillis(1500);

    private static final Duration LEASE_MARGIN = Duration.ofMillis(300);

    private static final Duration RELINK_GRACE = Duration.ofMillis(600);

    private static final long PERIOD_MS = 150;

    private static final int USERS = 40;

    private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);

    private TestRedis redis;

    private RedisClient pod0Client;

    private LoopbackProxy proxy;

    private String ns;

    private final List<StatefulRouteForServerDriver> pods = new ArrayList<>();

    private final List<StatefulRouteForClientDriver> gateways = new ArrayList<>();

    private final List<ServiceStateCache> gatewayStates = new ArrayList<>();

    private volatile boolean pod0Heartbeats = true;

    private final Map<String, Integer> lostReports = new ConcurrentHashMap<>();

    private final AtomicLong lapsedAtNanos = new AtomicLong();

    private void start(Stall stall) throws Exception {
        this.ns = TestRedis.freshNamespace();
        StatefulExecutor pod0Executor;
        if (stall == Stall.SILENT_ON_CLUSTER) {
            RedisCluster cluster = RedisServers.cluster().start();
            this.redis = TestRedis.on(cluster).owning(cluster);
            pod0Executor = this.redis.executor(Duration.ofMillis(300));
        }
        else {
            this.redis = TestRedis.on(RedisServers.shared());
            this.proxy = new LoopbackProxy(RedisServers.shared().port());
            this.pod0Client = RedisClient.create(RedisURI.create("127.0.0.1", this.proxy.port()));
            pod0Executor = RedisStatefulExecutor.builder()
                .ownedConnection(this.pod0Client.connect(StringCodec.UTF8))
                .pubSubConnections(() -> this.pod0Client.connectPubSub(StringCodec.UTF8))
                .keyPrefix("test")
                .commandTimeout(Duration.ofMillis(300))
                .build();
        }
        for (int index = 0; index < 3; index++) {
            StatefulExecutor executor = (index == 0) ? pod0Executor : this.redis.executor();
            StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(executor,
                    new ServerOptions(new PodIdentity(this.ns, "chat", index), 0, Duration.ZERO)
                        .withLease(POD_EXPIRY, LEASE_MARGIN, RELINK_GRACE));
            pod.followLinkChanges();
            this.pods.add(pod);
        }
        this.pods.get(0).addOwnershipListener(new OwnershipListener() {
            @Override
            public void leaseLapsed(PodIdentity pod, Duration sinceLastSuccess) {
                lapsedAtNanos.compareAndSet(0, System.nanoTime());
            }

            @Override
            public void usersLost(PodIdentity pod, Set<String> uids, LossReason reason) {
                uids.forEach((uid) -> lostReports.merge(uid, 1, Integer::sum));
            }
        });
        // only pod 0 takes new users at first, so it ends up holding all of them
        this.pods.get(1).setRoutingState(RoutingState.DENY_NEW_CALL);
        this.pods.get(2).setRoutingState(RoutingState.DENY_NEW_CALL);
        this.pods.forEach(StatefulRouteForServerDriver::start);
        this.scheduler.scheduleAtFixedRate(() -> {
            for (int index = 0; index < 3; index++) {
                if (index != 0 || this.pod0Heartbeats) {
                    this.pods.get(index).heartbeatAsync();
                }
            }
        }, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
        for (int i = 0; i < 2; i++) {
            StatefulRouteForClientDriver gateway = TestGateways.following(this.redis.executor(), this.ns, POD_EXPIRY,
                    RELINK_GRACE);
            this.gateways.add(gateway);
            this.gatewayStates.add(gateway.routeInfo().states());
        }
        this.scheduler.scheduleAtFixedRate(() -> this.gateways.forEach((gateway) -> {
            gateway.routeInfo().states().refreshAsync();
            gateway.checkLinkChanges();
        }), PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    @AfterEach
    void stop() {
        this.scheduler.shutdownNow();
        this.gateways.forEach(StatefulRouteForClientDriver::stopListeningForLinkChanges);
        if (this.proxy != null) {
            this.proxy.close();
        }
        this.pods.forEach((pod) -> pod.stopAsync());
        if (this.pod0Client != null) {
            this.pod0Client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
        if (this.redis != null) {
            this.redis.close();
        }
    }

    @ParameterizedTest
    @EnumSource(Stall.class)
    void aStalledPodLearnsItLostItsUsersBeforeAnyoneTakesThem(Stall stall) throws Exception {
        start(stall);
        StatefulRouteForServerDriver pod0 = this.pods.get(0);
        List<String> users = new ArrayList<>();
        for (int i = 0; i < USERS; i++) {
            String uid = "player-" + i;
            users.add(uid);
            assertThat(this.gateways.get(i % 2).computeLinkedPod(this.ns, uid, "chat")).isZero();
            pod0.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> users.stream().allMatch(pod0::owns));
        this.pods.get(1).setRoutingState(RoutingState.READY);
        this.pods.get(2).setRoutingState(RoutingState.READY);

        if (stall != Stall.CUT_OFF) {
            this.pod0Heartbeats = false;
        }
        if (this.proxy != null) {
            this.proxy.block();
        }
        long stalledAt = System.nanoTime();
        Map<String, Long> movedAtNanos = new LinkedHashMap<>();
        // at least two pod expiries, and until the gateways have moved every user (a loaded machine
        // may need more than one pass over the users after the relink grace)
        long stallEnd = stalledAt + POD_EXPIRY.multipliedBy(2).toNanos();
        long giveUp = stalledAt + Duration.ofSeconds(20).toNanos();
        while ((System.nanoTime() - stallEnd < 0 || movedAtNanos.size() < USERS) && System.nanoTime() - giveUp < 0) {
            for (String uid : users) {
                for (StatefulRouteForClientDriver gateway : this.gateways) {
                    int pod;
                    try {
                        pod = gateway.computeLinkedPod(this.ns, uid, "chat");
                    }
                    catch (StatefulRouteException ex) {
                        continue;
                    }
                    if (pod != 0) {
                        movedAtNanos.putIfAbsent(uid, System.nanoTime());
                        // the user reaches its new pod, which persists the link while it holds the state
                        StatefulRouteForServerDriver target = this.pods.get(pod);
                        if (!target.heldUsers().contains(uid)) {
                            target.trySetLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
                        }
                    }
                }
                assertAtMostOneOwner(uid);
            }
        }
        if (this.proxy != null) {
            this.proxy.unblock();
        }
        this.pod0Heartbeats = true;

        assertThat(movedAtNanos).as("every user moved during the stall").hasSize(USERS);
        await().atMost(Duration.ofSeconds(10)).until(() -> pod0.isLeaseLive()
                && pod0.leaseStatus().unconfirmedUsers() == 0 && this.lostReports.size() == USERS);

        long lapsedAt = this.lapsedAtNanos.get();
        long firstMove = movedAtNanos.values().stream().mapToLong(Long::longValue).min().orElseThrow();
        System.out.printf("%s: lease lapsed %d ms after the stall began, first relink at %d ms (%d ms later); "
                + "%d users moved, %d lost reports%n", stall, (lapsedAt - stalledAt) / 1_000_000,
                (firstMove - stalledAt) / 1_000_000, (firstMove - lapsedAt) / 1_000_000, movedAtNanos.size(),
                this.lostReports.values().stream().mapToInt(Integer::intValue).sum());
        assertThat(lapsedAt).as("pod 0 noticed its lease lapsed").isNotZero();
        assertThat(firstMove - lapsedAt).as("no gateway moved a user before pod 0's lease lapsed").isPositive();
        assertThat(this.lostReports).as("every lost user reported exactly once").hasSize(USERS)
            .allSatisfy((uid, reports) -> assertThat(reports).isOne());
        assertThat(pod0.heldUsers()).isEmpty();
        // pods' own view and Redis agree, and no user is held by two pods
        Map<Integer, List<String>> linked = this.redis.executor().batchGetLinkedPod(this.ns, users, "chat");
        for (String uid : users) {
            assertAtMostOneOwner(uid);
            List<Integer> holders = new ArrayList<>();
            for (int index = 0; index < 3; index++) {
                if (this.pods.get(index).heldUsers().contains(uid)) {
                    holders.add(index);
                }
            }
            assertThat(holders).as("pods holding %s", uid).hasSize(1);
            assertThat(linked.get(holders.get(0))).as("Redis links %s to its holder", uid).contains(uid);
        }
    }

    private void assertAtMostOneOwner(String uid) {
        long owners = this.pods.stream().filter((pod) -> pod.owns(uid)).count();
        assertThat(owners).as("pods that believe they own %s", uid).isLessThanOrEqualTo(1);
    }
}
