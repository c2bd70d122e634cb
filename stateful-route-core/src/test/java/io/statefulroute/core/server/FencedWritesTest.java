package io.statefulroute.core.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.GatedExecutor;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.PodLeaseLapsedException;
import io.statefulroute.core.RedisMonitor;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.TrackingClients;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Tries to break the one-owner promise where the write lands: pod 1's writes are held in the
 * network past its lease, paused between the pod's own lease check and the send, answered
 * after a lapse, sent again after a NOSCRIPT that came back too late, or removals of a user the
 * pod no longer owns. Pods 0 and 2 and two gateways run on their own connections; Redis is a
 * server of this test's own, so its error counters are exact.
 */
class FencedWritesTest {

    private static final Duration POD_EXPIRY = Duration.ofMillis(1500);

    private static final Duration LEASE_MARGIN = Duration.ofMillis(300);

    private static final Duration RELINK_GRACE = Duration.ofMillis(600);

    private static final Duration POD_TIMEOUT = Duration.ofMillis(300);

    private static final long PERIOD_MS = 150;

    private static final Pattern FENCED_ERRORS = Pattern.compile("errorstat_FENCED:count=(\\d+)");

    private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);

    private final ExecutorService callers = Executors.newCachedThreadPool();

    private RedisServer server;

    private TestRedis redis;

    private RedisCommands<String, String> admin;

    private RedisClient pod1Client;

    private LoopbackProxy proxy;

    private GatedExecutor pod1Gates;

    private String ns;

    private final List<StatefulRouteForServerDriver> pods = new ArrayList<>();

    private final List<StatefulRouteForClientDriver> gateways = new ArrayList<>();

    private volatile boolean pod1Heartbeats = true;

    @BeforeEach
    void start() throws Exception {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
        this.admin = this.redis.sync();
        this.ns = TestRedis.freshNamespace();
        this.proxy = new LoopbackProxy(this.server.port());
        this.pod1Client = RedisClient.create(RedisURI.create("127.0.0.1", this.proxy.port()));
        StatefulExecutor pod1Executor = RedisStatefulExecutor.builder()
            .ownedConnection(this.pod1Client.connect(StringCodec.UTF8))
            .pubSubConnections(() -> this.pod1Client.connectPubSub(StringCodec.UTF8))
            .keyPrefix("test")
            .commandTimeout(POD_TIMEOUT)
            .build();
        this.pod1Gates = GatedExecutor.around(pod1Executor);
        for (int index = 0; index < 3; index++) {
            StatefulExecutor executor = (index == 1) ? this.pod1Gates.executor() : this.redis.executor();
            StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(executor,
                    new ServerOptions(new PodIdentity(this.ns, "chat", index), 0, Duration.ZERO)
                        .withLease(POD_EXPIRY, LEASE_MARGIN, RELINK_GRACE));
            pod.followLinkChanges();
            this.pods.add(pod);
        }
        // only pod 1 takes new users at first
        this.pods.get(0).setRoutingState(RoutingState.DENY_NEW_CALL);
        this.pods.get(2).setRoutingState(RoutingState.DENY_NEW_CALL);
        this.pods.forEach(StatefulRouteForServerDriver::start);
        this.scheduler.scheduleAtFixedRate(() -> {
            for (int index = 0; index < 3; index++) {
                if (index != 1 || this.pod1Heartbeats) {
                    this.pods.get(index).heartbeatAsync();
                }
            }
        }, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
        for (int i = 0; i < 2; i++) {
            this.gateways.add(TestGateways.following(this.redis.executor(), this.ns, POD_EXPIRY, RELINK_GRACE));
        }
        this.scheduler.scheduleAtFixedRate(() -> this.gateways.forEach((gateway) -> {
            gateway.routeInfo().states().refreshAsync();
            gateway.checkLinkChanges();
        }), PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    @AfterEach
    void stop() {
        this.scheduler.shutdownNow();
        this.callers.shutdownNow();
        this.gateways.forEach(StatefulRouteForClientDriver::stopListeningForLinkChanges);
        this.proxy.close();
        this.pods.forEach(StatefulRouteForServerDriver::stopAsync);
        this.pod1Client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        this.redis.close();
        this.server.close();
    }

    /**
     * The late writes: pod 1 is asked to take 20 new users and to persist 20 it holds
     * while its lease is live; a proxy holds those writes (and its heartbeats) in the network;
     * gateways give every user to pods 0 and 2 once pod 1's lease has lapsed, and they take
     * them; then the proxy delivers everything it held. Redis refuses all 40 writes: no link is
     * replaced, the new owners keep their users, and pod 1 reports each user it held lost once.
     */
    @Test
    void lateWritesOfAPodReplaceNoLinkGivenToAnotherPod() throws Exception {
        StatefulRouteForServerDriver pod1 = this.pods.get(1);
        Map<String, Integer> lostReports = lostReports(pod1);
        List<String> held = users("held", 20);
        List<String> arriving = users("arriving", 20);
        for (String uid : held) {
            assertThat(this.gateways.get(0).computeLinkedPod(this.ns, uid, "chat")).isOne();
            pod1.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        }
        for (String uid : arriving) {
            assertThat(this.gateways.get(1).computeLinkedPod(this.ns, uid, "chat")).isOne();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> held.stream().allMatch(pod1::owns));
        this.pods.get(0).setRoutingState(RoutingState.READY);
        this.pods.get(2).setRoutingState(RoutingState.READY);
        long fencedBefore = fencedErrors();

        this.proxy.block();
        List<CompletableFuture<?>> lateWrites = new ArrayList<>();
        for (String uid : arriving) {
            lateWrites.add(CompletableFuture.runAsync(() -> pod1.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER),
                    this.callers));
        }
        for (String uid : held) {
            lateWrites.add(CompletableFuture.runAsync(() -> pod1.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER),
                    this.callers));
        }
        for (CompletableFuture<?> write : lateWrites) {
            assertThat(write).failsWithin(Duration.ofSeconds(5)).withThrowableThat()
                .havingCause().isInstanceOf(RedisUnavailableException.class);
        }
        List<String> everyone = new ArrayList<>(held);
        everyone.addAll(arriving);
        await().atMost(Duration.ofSeconds(20)).pollDelay(Duration.ZERO).until(() -> moveToLivePods(everyone));
        assertThat(pod1.isLeaseLive()).isFalse();

        this.proxy.unblock();
        await().atMost(Duration.ofSeconds(10))
            .until(() -> fencedErrors() - fencedBefore == 40 && pod1.isLeaseLive() && lostReports.size() == 20);

        Map<Integer, List<String>> linked = this.redis.executor().batchGetLinkedPod(this.ns, everyone, "chat");
        assertThat(linked.get(1)).as("links pod 1's late writes would have replaced").isNull();
        for (String uid : everyone) {
            int owner = linked.get(0) != null && linked.get(0).contains(uid) ? 0 : 2;
            assertThat(this.pods.get(owner).owns(uid)).as("pod %d owns %s", owner, uid).isTrue();
            assertThat(pod1.heldUsers()).doesNotContain(uid);
        }
        assertThat(lostReports).as("every user pod 1 held reported lost once").containsOnlyKeys(held)
            .allSatisfy((uid, reports) -> assertThat(reports).isOne());
        System.out.printf("late writes: %d refused by Redis' fence, 0 of %d links replaced%n",
                fencedErrors() - fencedBefore, everyone.size());
    }

    /**
     * Pod 1 checks its lease, then pauses before the send (as a GC pause would) until its lease
     * is over and a gateway gave the user to pod 0; the write it then sends is refused where it
     * lands, the caller gets {@link PodLeaseLapsedException}, and the user stays on pod 0.
     */
    @Test
    void aPauseBetweenTheLeaseCheckAndTheSendIsRefusedWhereTheWriteLands() throws Exception {
        StatefulRouteForServerDriver pod1 = this.pods.get(1);
        assertThat(this.gateways.get(0).computeLinkedPod(this.ns, "paused", "chat")).isOne();
        this.pods.get(0).setRoutingState(RoutingState.READY);
        this.pods.get(2).setRoutingState(RoutingState.DENY_NEW_CALL);
        GatedExecutor.Gate paused = this.pod1Gates.holdNextSend("setLinkedPodAsync");
        CompletableFuture<?> write = CompletableFuture.runAsync(
                () -> pod1.setLinkedPod("paused", RouteArguments.PERSIST_FOREVER), this.callers);
        paused.awaitArrival(Duration.ofSeconds(5));
        this.pod1Heartbeats = false;

        await().atMost(Duration.ofSeconds(20)).until(() -> moveToLivePods(List.of("paused")));
        paused.release();

        assertThat(write).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
            .isInstanceOf(PodLeaseLapsedException.class);
        assertThat(this.redis.executor().getLinkedPod(this.ns, "paused", "chat")).hasValue(0);
        assertThat(this.pods.get(0).owns("paused")).isTrue();
        assertThat(pod1.heldUsers()).doesNotContain("paused");
        assertThatThrownBy(() -> pod1.setLinkedPod("paused", RouteArguments.PERSIST_FOREVER))
            .as("the pod knows its lease lapsed").isInstanceOf(PodLeaseLapsedException.class);
    }

    /**
     * Redis lost the script (a flush) while pod 1's call waited in the network past its
     * deadline: the NOSCRIPT that comes back then is not answered with the source, so the
     * write does not happen behind its caller's back (and were it sent, its fence has passed).
     */
    @Test
    void aNoscriptAnsweredAfterTheCallersDeadlineIsNotResent() throws Exception {
        StatefulRouteForServerDriver pod1 = this.pods.get(1);
        this.pod1Heartbeats = false;
        try (RedisMonitor monitor = new RedisMonitor(this.server.host(), this.server.port(), this.admin)) {
            this.proxy.block();
            CompletableFuture<?> write = CompletableFuture.runAsync(
                    () -> pod1.setLinkedPod("flushed", RouteArguments.PERSIST_FOREVER), this.callers);
            assertThat(write).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(RedisUnavailableException.class);
            this.admin.scriptFlush();
            this.proxy.unblock();
            // a command sent after the held one on the same connection: once it is answered, the NOSCRIPT was
            this.pod1Gates.executor().batchGetLinkedPod(this.ns, List.of("flushed"), "chat");

            List<String> aboutTheUser = monitor.clientCommandLines().stream()
                .filter((line) -> line.contains("flushed") && line.toLowerCase().startsWith("\"eval")).toList();
            assertThat(aboutTheUser).as("the late EVALSHA arrived, and no EVAL after it").hasSize(1)
                .allMatch((line) -> line.toLowerCase().startsWith("\"evalsha\""));
        }
        assertThat(this.redis.executor().getLinkedPod(this.ns, "flushed", "chat")).isEmpty();
    }

    /**
     * Pod 1 lets go of a user that gateways moved to pod 0 while pod 1 was cut off: its
     * removal, sent once its lease is live again, leaves pod 0's link alone; and one held in
     * the network past the lease is refused.
     */
    @Test
    void aStaleRemovalLeavesTheNewOwnersLink() throws Exception {
        StatefulRouteForServerDriver pod1 = this.pods.get(1);
        List<String> users = users("leaving", 2);
        for (String uid : users) {
            assertThat(this.gateways.get(0).computeLinkedPod(this.ns, uid, "chat")).isOne();
            pod1.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        }
        this.pods.get(0).setRoutingState(RoutingState.READY);
        // Redis knows the removal's script, so the held one is answered by its fence, not by NOSCRIPT
        assertThat(pod1.removeLinkedPod("nobody", 0)).isEmpty();
        this.proxy.block();
        CompletableFuture<?> heldRemoval = CompletableFuture.runAsync(() -> pod1.removeLinkedPod(users.get(0), 0),
                this.callers);
        assertThat(heldRemoval).failsWithin(Duration.ofSeconds(5));
        await().atMost(Duration.ofSeconds(20)).until(() -> moveToLivePods(users));
        long fencedBefore = fencedErrors();
        this.proxy.unblock();
        await().atMost(Duration.ofSeconds(10)).until(pod1::isLeaseLive);

        assertThat(fencedErrors() - fencedBefore).as("the held removal, refused").isOne();
        assertThat(pod1.removeLinkedPod(users.get(1), 0)).as("a removal sent now").isEmpty();
        assertThat(pod1.removeLinkedPodWithId(users.get(1), 0)).isFalse();
        for (String uid : users) {
            assertThat(this.redis.executor().getLinkedPod(this.ns, uid, "chat")).hasValue(0);
            assertThat(this.pods.get(0).owns(uid)).isTrue();
        }
    }

    /**
     * A write granted under a live lease lands in time, but its reply comes back while the
     * lease is lapsed: the user is held but unconfirmed, so the next renewal does not make the
     * pod own it at once; a reconcile a relink grace later confirms it.
     */
    @Test
    void aWriteAnsweredDuringALapseLeavesItsUserUnconfirmed() throws Exception {
        GatedExecutor gates = GatedExecutor.around(this.redis.executor(Duration.ofSeconds(10)));
        StatefulRouteForServerDriver pod3 = new StatefulRouteForServerDriver(gates.executor(),
                new ServerOptions(new PodIdentity(this.ns, "chat", 3), 0, Duration.ZERO)
                    .withLease(POD_EXPIRY, LEASE_MARGIN, RELINK_GRACE));
        AtomicBoolean beating = new AtomicBoolean(true);
        pod3.start();
        this.scheduler.scheduleAtFixedRate(() -> {
            if (beating.get()) {
                pod3.heartbeatAsync();
            }
        }, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
        try {
            await().atMost(Duration.ofSeconds(5)).until(() -> pod3.leaseStatus().unconfirmedUsers() == 0
                    && setAndOwn(pod3, "answered-in-time"));
            GatedExecutor.Gate reply = gates.holdNextReply("setLinkedPodAsync");
            CompletableFuture<?> write = CompletableFuture.runAsync(
                    () -> pod3.setLinkedPod("answered-late", RouteArguments.PERSIST_FOREVER), this.callers);
            reply.awaitArrival(Duration.ofSeconds(5));
            beating.set(false);
            await().atMost(Duration.ofSeconds(5)).until(() -> !pod3.isLeaseLive());
            reply.release();
            write.get(5, TimeUnit.SECONDS);

            assertThat(pod3.heldUsers()).contains("answered-late");
            assertThat(pod3.leaseStatus().unconfirmedUsers()).as("both users, after the lapse").isEqualTo(2);
            beating.set(true);
            await().atMost(Duration.ofSeconds(5)).until(pod3::isLeaseLive);
            await().atMost(Duration.ofSeconds(10)).until(() -> pod3.owns("answered-late"));
            assertThat(pod3.leaseStatus().unconfirmedUsers()).isZero();
        }
        finally {
            pod3.stopAsync();
        }
    }

    /**
     * Redis loses a write of the pod's own that it answered (a failover: the old primary answered
     * on a connection the client had not moved yet, then resynced from the new one), and the
     * pod's check of every user, which restores lost links, listed the users before that answer
     * came: the user is checked on its own once answered, and its link restored, rather than
     * held with no link in Redis, where a gateway could give it to another pod.
     */
    @Test
    void aWriteAnsweredAfterACheckOfEveryUserBeganIsCheckedOnItsOwn() throws Exception {
        GatedExecutor gates = GatedExecutor.around(this.redis.trackingExecutor());
        StatefulRouteForServerDriver pod3 = new StatefulRouteForServerDriver(gates.executor(),
                new ServerOptions(new PodIdentity(this.ns, "chat", 3), 0, Duration.ZERO)
                    .withLease(POD_EXPIRY, LEASE_MARGIN, RELINK_GRACE));
        // before it starts, as an application may: the check that asks for is dropped, and must
        // not hold up later ones
        pod3.followLinkChanges();
        pod3.start();
        ScheduledFuture<?> heartbeats = this.scheduler.scheduleAtFixedRate(pod3::heartbeatAsync, PERIOD_MS,
                PERIOD_MS, TimeUnit.MILLISECONDS);
        try {
            await().atMost(Duration.ofSeconds(5)).until(() -> pod3.leaseStatus().unconfirmedUsers() == 0
                    && setAndOwn(pod3, "held-before"));
            GatedExecutor.Gate reply = gates.holdNextReply("setLinkedPodAsync");
            CompletableFuture<?> write = CompletableFuture.runAsync(
                    () -> pod3.setLinkedPod("answered-late", RouteArguments.PERSIST_FOREVER), this.callers);
            reply.awaitArrival(Duration.ofSeconds(5));
            assertThat(this.admin.del(linkKey("answered-late"))).as("the write landed, then was lost").isOne();

            // tracking restarts, so the pod checks every user it holds: one of them for now
            int checksBefore = gates.calls("batchGetLinkedPodAndFollowAsync");
            assertThat(TrackingClients.kill(this.admin)).isOne();
            await().atMost(Duration.ofSeconds(5))
                .until(() -> gates.calls("batchGetLinkedPodAndFollowAsync") > checksBefore);
            reply.release();
            write.get(5, TimeUnit.SECONDS);

            await().atMost(Duration.ofSeconds(10)).until(() -> pod3.owns("answered-late"));
            assertThat(this.admin.get(linkKey("answered-late"))).as("the link, once the pod owns the user").isNotNull();
            assertThat(pod3.leaseStatus().linksRestored()).isOne();
            assertThat(pod3.owns("held-before")).isTrue();
        }
        finally {
            heartbeats.cancel(false);
            pod3.stopAsync();
        }
    }

    /** The key of the user's link to the chat service, as the pods' executors name it. */
    private String linkKey(String uid) {
        return "test:{u:" + this.ns + ":" + uid + "}:link:chat";
    }

    private static boolean setAndOwn(StatefulRouteForServerDriver pod, String uid) {
        pod.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        return pod.owns(uid);
    }

    private static List<String> users(String prefix, int count) {
        List<String> users = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            users.add(prefix + "-" + i);
        }
        return users;
    }

    /**
     * One pass of both gateways over the users; each user routed to pod 0 or 2 is taken there.
     * Whether every user is owned by pod 0 or 2 now.
     */
    private boolean moveToLivePods(List<String> users) {
        boolean all = true;
        for (String uid : users) {
            for (StatefulRouteForClientDriver gateway : this.gateways) {
                try {
                    int pod = gateway.computeLinkedPod(this.ns, uid, "chat");
                    if (pod != 1 && !this.pods.get(pod).heldUsers().contains(uid)) {
                        this.pods.get(pod).trySetLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
                    }
                }
                catch (StatefulRouteException ex) {
                    // Redis slow on a loaded machine: the next pass tries again
                }
            }
            all &= this.pods.get(0).owns(uid) || this.pods.get(2).owns(uid);
        }
        return all;
    }

    private static Map<String, Integer> lostReports(StatefulRouteForServerDriver pod) {
        Map<String, Integer> reports = new ConcurrentHashMap<>();
        pod.addOwnershipListener(new OwnershipListener() {
            @Override
            public void usersLost(PodIdentity identity, Set<String> uids, LossReason reason) {
                uids.forEach((uid) -> reports.merge(uid, 1, Integer::sum));
            }
        });
        return reports;
    }

    private long fencedErrors() {
        Matcher count = FENCED_ERRORS.matcher(this.admin.info("errorstats"));
        return count.find() ? Long.parseLong(count.group(1)) : 0;
    }
}
