package io.statefulroute.core.rebalance;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.GatedExecutor;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.UserTakenException;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.core.rebalance.LobbyPods.Pod;
import io.statefulroute.core.rebalance.RebalanceRound.Decision;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.LossReason;
import io.statefulroute.core.server.OwnershipListener;
import io.statefulroute.core.state.LeaseTerms;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * One pod's rounds, run by hand on real Redis: what a round reads, whom it proposes to whom,
 * the switch, the consent; and the application writing a user while it moves.
 */
class RebalancerTest {

    /** Rounds run by hand; the rate and share never limit these small rounds. */
    private static final RebalanceOptions BY_HAND = new RebalanceOptions(Duration.ofSeconds(1), 0.1, 1.0, 1000);

    private TestRedis redis;

    private LobbyPods lobby;

    @BeforeEach
    void startLobby() throws InterruptedException {
        this.redis = TestRedis.on(RedisServers.shared());
        this.lobby = new LobbyPods(this.redis, TestRedis.freshNamespace());
    }

    @AfterEach
    void stopLobby() {
        this.lobby.close();
        this.redis.close();
    }

    /** Consents for the users it is given, and records what it was asked and told. */
    private static final class Consent implements MoveConsent {

        private final Set<String> yes = ConcurrentHashMap.newKeySet();

        private final AtomicLong asked = new AtomicLong();

        private final Map<String, Integer> moved = new ConcurrentHashMap<>();

        private final List<String> notMoved = new CopyOnWriteArrayList<>();

        private volatile boolean everyone;

        @Override
        public boolean mayMove(String uid, int targetPod) {
            this.asked.incrementAndGet();
            return this.everyone || this.yes.contains(uid);
        }

        @Override
        public void moved(String uid, int targetPod) {
            this.moved.put(uid, targetPod);
        }

        @Override
        public void notMoved(String uid, int targetPod) {
            this.notMoved.add(uid);
        }
    }

    @Test
    void switchedOffARoundReadsNothingAndMovesNobody() {
        Consent consent = new Consent();
        consent.everyone = true;
        Pod pod0 = this.lobby.start(0, BY_HAND, consent);
        this.lobby.start(1, BY_HAND, consent);
        this.lobby.take(0, 40);
        this.lobby.awaitOwned();

        pod0.rebalancer().setEnabled(false);
        RebalanceRound off = pod0.rebalancer().runRound();

        assertThat(off.decision()).isEqualTo(Decision.DISABLED);
        assertThat(pod0.rebalancer().lastRound()).isNull();
        assertThat(pod0.rebalancer().stats()).isEqualTo(new RebalanceStats(0, 0, 0, 0, 0, 0));
        assertThat(consent.asked).hasValue(0);

        pod0.rebalancer().setEnabled(true);
        RebalanceRound on = pod0.rebalancer().runRound();

        assertThat(on.decision()).isEqualTo(Decision.PROPOSED);
        assertThat(on.proposed()).containsExactly(Map.entry(1, 20));
        assertThat(on.moved()).isEqualTo(20);
        assertThat(consent.moved).hasSize(20).containsValue(1).doesNotContainValue(0);
        assertThat(pod0.driver().heldUsers()).hasSize(20);
        await().atMost(Duration.ofSeconds(10)).until(() -> this.lobby.pod(1).driver().heldUsers().size() == 20);
        assertThat(pod0.rebalancer().stats()).isEqualTo(new RebalanceStats(1, 20, 20, 0, 20, 0));
    }

    @Test
    void aDrainingPodShedsNothingAndTargetsAreRoutablePodsWithRoomThatPublishACount() {
        Consent consent = new Consent();
        Pod pod0 = this.lobby.start(0, BY_HAND, consent);
        this.lobby.start(1, BY_HAND, consent).driver().setRoutingState(RoutingState.DENY_NEW_CALL);
        this.lobby.start(2, BY_HAND, consent, PodCapacity.ofUsers(5));
        this.lobby.start(3, BY_HAND, consent);
        this.lobby.take(0, 40);
        this.lobby.take(2, 5);
        this.lobby.awaitOwned();

        pod0.driver().setRoutingState(RoutingState.DENY_NEW_CALL);
        assertThat(pod0.rebalancer().runRound().decision()).isEqualTo(Decision.NOT_READY);
        pod0.driver().setRoutingState(RoutingState.READY);
        // a pod of a version before user counts: READY, but no count
        this.lobby.newExecutor().heartbeatAsync(this.lobby.namespace(), LobbyPods.SERVICE, 4, RoutingState.READY, 0,
                null, null, new LeaseTerms(LobbyPods.POD_EXPIRY, LobbyPods.RELINK_GRACE)).join();
        StatefulExecutor reads = this.lobby.newExecutor();
        await().atMost(Duration.ofSeconds(5)).until(() -> reads.getServiceState(this.lobby.namespace(),
                LobbyPods.SERVICE).pod(2).orElseThrow().users() == 5);
        RebalanceRound round = pod0.rebalancer().runRound();

        assertThat(round.pods()).as("pods 0, 2 (full) and 3; not 1 (draining) nor 4 (no count)").isEqualTo(3);
        assertThat(round.mean()).isEqualTo(15.0);
        assertThat(round.proposed()).as("pod 2 is at its capacity").containsExactly(Map.entry(3, 15));
        assertThat(round.moved()).as("no consent for anyone").isZero();
        assertThat(round.refused()).isEqualTo(40);
    }

    @Test
    void onlyUsersTheApplicationConsentsToMove() {
        Consent consent = new Consent();
        Pod pod0 = this.lobby.start(0, BY_HAND, consent);
        this.lobby.start(1, BY_HAND, consent);
        List<String> users = this.lobby.take(0, 40);
        this.lobby.awaitOwned();
        consent.yes.addAll(users.subList(0, 5));

        RebalanceRound round = pod0.rebalancer().runRound();

        assertThat(round.proposedMoves()).isEqualTo(20);
        assertThat(round.accepted()).isEqualTo(5);
        assertThat(round.refused()).isEqualTo(35);
        assertThat(round.moved()).isEqualTo(5);
        assertThat(consent.moved).containsOnlyKeys(users.subList(0, 5));
        assertThat(consent.notMoved).isEmpty();
        assertThat(this.lobby.links()).containsAllEntriesOf(Map.of(users.get(0), 1, users.get(5), 0));
        assertThat(pod0.driver().heldUsers()).doesNotContainAnyElementsOf(users.subList(0, 5)).hasSize(35);
    }

    /**
     * The application writes a user it holds (a take, a refresh) while the pod moves the user:
     * the write was decided before the move and lands after it, and the new pod has the user by
     * then. Redis refuses it where it lands, and the old pod does not hold the user again.
     */
    @Test
    void anOldPodsWriteDecidedBeforeTheMoveAndLandingAfterItIsRefused() throws InterruptedException {
        for (String method : List.of("setLinkedPodAsync", "trySetLinkedPodAsync")) {
            String ns = TestRedis.freshNamespace();
            try (LobbyPods lobby = new LobbyPods(this.redis, ns)) {
                GatedExecutor gates = GatedExecutor.around(lobby.newExecutor());
                Consent consent = new Consent();
                Pod pod0 = lobby.start(0, gates.executor(), BY_HAND, consent, PodCapacity.UNLIMITED);
                Pod pod1 = lobby.start(1, BY_HAND, consent);
                String moving = lobby.take(0, 10).get(0);
                lobby.awaitOwned();
                consent.yes.add(moving);

                GatedExecutor.Gate held = gates.holdNextSend(method);
                CompletableFuture<Object> write = CompletableFuture.supplyAsync(() -> method.startsWith("set")
                        ? pod0.driver().setLinkedPod(moving, RouteArguments.PERSIST_FOREVER)
                        : pod0.driver().trySetLinkedPod(moving, RouteArguments.PERSIST_FOREVER));
                held.awaitArrival(Duration.ofSeconds(5));
                assertThat(pod0.rebalancer().runRound().moved()).isOne();
                await().atMost(Duration.ofSeconds(5)).until(() -> pod1.driver().owns(moving));
                held.release();

                if (method.startsWith("set")) {
                    assertThatThrownBy(write::join).hasCauseInstanceOf(UserTakenException.class);
                }
                else {
                    assertThat((TrySetResult) write.join()).isEqualTo(new TrySetResult(false, 1));
                }
                assertThat(lobby.links()).containsEntry(moving, 1);
                assertThat(pod0.driver().owns(moving)).isFalse();
                assertThat(pod0.driver().heldUsers()).doesNotContain(moving);
                assertThat(pod1.driver().owns(moving)).isTrue();
                assertThat(consent.moved).containsExactly(Map.entry(moving, 1));
            }
        }
    }

    /**
     * The application's write of a user lands before the move, but its answer reaches the old
     * pod only after the move's: the old pod must not take the user back on that late answer.
     * It does not own the user, and it reports the user lost once Redis says so.
     */
    @Test
    void anOldPodsWriteAnsweredOnlyAfterTheMoveDoesNotGiveItTheUserBack() throws InterruptedException {
        GatedExecutor gates = GatedExecutor.around(this.lobby.newExecutor());
        Consent consent = new Consent();
        Pod pod0 = this.lobby.start(0, gates.executor(), BY_HAND, consent, PodCapacity.UNLIMITED);
        Pod pod1 = this.lobby.start(1, BY_HAND, consent);
        String moving = this.lobby.take(0, 10).get(0);
        this.lobby.awaitOwned();
        consent.yes.add(moving);
        Set<String> lost = ConcurrentHashMap.newKeySet();
        pod0.driver().addOwnershipListener(new OwnershipListener() {
            @Override
            public void usersLost(PodIdentity pod, Set<String> uids, LossReason reason) {
                lost.addAll(uids);
            }
        });

        GatedExecutor.Gate answer = gates.holdNextReply("trySetLinkedPodAsync");
        CompletableFuture<TrySetResult> write = CompletableFuture
            .supplyAsync(() -> pod0.driver().trySetLinkedPod(moving, RouteArguments.PERSIST_FOREVER));
        answer.awaitArrival(Duration.ofSeconds(5));
        assertThat(pod0.rebalancer().runRound().moved()).isOne();
        await().atMost(Duration.ofSeconds(5)).until(() -> pod1.driver().owns(moving));
        answer.release();

        assertThat(write.join().success()).as("it landed, before the move").isTrue();
        assertThat(pod0.driver().owns(moving)).isFalse();
        await().atMost(Duration.ofSeconds(5)).until(() -> !pod0.driver().heldUsers().contains(moving));
        assertThat(lost).containsExactly(moving);
        assertThat(pod0.driver().owns(moving)).isFalse();
        assertThat(pod1.driver().owns(moving)).isTrue();
        assertThat(this.lobby.links()).containsEntry(moving, 1);
    }

    /**
     * The pod hears the answer to its own hand-off late, after the new pod took the user: from
     * the moment the hand-off began, the old pod owns the user no longer.
     */
    @Test
    void aPodThatHearsOfItsOwnMoveLateNoLongerOwnsTheUserMeanwhile() throws InterruptedException {
        GatedExecutor gates = GatedExecutor.around(this.lobby.newExecutor());
        Consent consent = new Consent();
        Pod pod0 = this.lobby.start(0, gates.executor(), BY_HAND, consent, PodCapacity.UNLIMITED);
        Pod pod1 = this.lobby.start(1, BY_HAND, consent);
        String moving = this.lobby.take(0, 10).get(0);
        this.lobby.awaitOwned();
        consent.yes.add(moving);
        LobbyPods.Checker checker = this.lobby.startChecker();

        GatedExecutor.Gate answer = gates.holdNextReply("handOffLinkedPodAsync");
        CompletableFuture<RebalanceRound> round = CompletableFuture.supplyAsync(pod0.rebalancer()::runRound);
        answer.awaitArrival(Duration.ofSeconds(5));
        await().atMost(Duration.ofSeconds(5)).until(() -> pod1.driver().owns(moving));
        long samplesWhileHeld = checker.samples();
        await().atMost(Duration.ofSeconds(5)).until(() -> checker.samples() > samplesWhileHeld + 5);

        assertThat(pod0.driver().owns(moving)).as("hand-off under way").isFalse();
        assertThat(pod0.driver().checkOwnership(moving)).isFalse();
        assertThat(consent.moved).isEmpty();
        answer.release();
        assertThat(round.join().moved()).isOne();
        assertThat(consent.moved).containsExactly(Map.entry(moving, 1));
        checker.stop();
        assertThat(checker.violations()).isEmpty();
    }

    /**
     * While a pod sheds half its users, two application threads keep writing random users of
     * the pod from it ({@code trySetLinkedPod}, as a pod refreshes a user it serves). The checker
     * samples throughout; at the end every user is held by exactly the pod Redis links it to,
     * and the old pod's writes of users that had moved were refused.
     */
    @Test
    void theOldPodKeepsWritingItsUsersWhileTheyMove() {
        Consent consent = new Consent();
        consent.everyone = true;
        RebalanceOptions fast = new RebalanceOptions(Duration.ofMillis(100), 0.1, 0.25, 400);
        Pod pod0 = this.lobby.start(0, fast, consent);
        Pod pod1 = this.lobby.start(1, fast, consent);
        List<String> users = this.lobby.take(0, 200);
        this.lobby.awaitOwned();
        LobbyPods.Checker checker = this.lobby.startChecker();
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong refused = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        List<CompletableFuture<Void>> writers = List.of(1, 2).stream().map((seed) -> CompletableFuture.runAsync(() -> {
            Random random = new Random(seed);
            while (writing.get()) {
                try {
                    if (!pod0.driver().trySetLinkedPod(users.get(random.nextInt(users.size())),
                            RouteArguments.PERSIST_FOREVER).success()) {
                        refused.incrementAndGet();
                    }
                }
                catch (StatefulRouteException ex) {
                    failed.incrementAndGet();
                }
            }
        })).toList();

        pod0.rebalancer().start();
        await().atMost(Duration.ofSeconds(30)).until(() -> consent.moved.size() >= 100
                && pod0.rebalancer().lastRound().decision() == Decision.BALANCED);
        writing.set(false);
        writers.forEach(CompletableFuture::join);
        pod0.rebalancer().stop();
        await().atMost(Duration.ofSeconds(10)).until(() -> pod0.driver().heldUsers().size()
                + pod1.driver().heldUsers().size() == users.size());
        checker.stop();

        Map<String, Integer> links = this.lobby.links();
        for (String uid : users) {
            int linked = links.get(uid);
            assertThat(pod0.driver().heldUsers().contains(uid)).as(uid).isEqualTo(linked == 0);
            assertThat(pod1.driver().heldUsers().contains(uid)).as(uid).isEqualTo(linked == 1);
        }
        consent.moved.keySet().forEach((uid) -> assertThat(links).containsEntry(uid, 1));
        System.out.printf("Old pod writing while its users move: %d moved, %d of its writes refused as moved, "
                + "%d failed, %d checker samples%n", consent.moved.size(), refused.get(), failed.get(),
                checker.samples());
        assertThat(refused.get()).isPositive();
        assertThat(checker.violations()).isEmpty();
    }
}
