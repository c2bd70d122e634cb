package io.statefulroute.core.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.GatedExecutor;
import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.PodLeaseLapsedException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.LeaseTerms;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.WarmUp;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class ServerDriverTest {

    /** Rounds of {@link #aConcurrentReadyCannotUndoTheDrain}, each with READY setters racing a stop. */
    private static final int DRAIN_RACE_ROUNDS = 50;

    private static final int SETTERS = 3;

    private static final int CALLS_PER_SETTER = 50;

    private TestRedis redis;

    private StatefulExecutor executor;

    private String ns;

    @BeforeEach
    void connect() {
        this.redis = TestRedis.on(RedisServers.shared());
        this.executor = this.redis.executor();
        this.ns = TestRedis.freshNamespace();
    }

    @AfterEach
    void close() {
        this.redis.close();
    }

    private StatefulRouteForServerDriver pod(int index, Duration drain, AtomicInteger waitingTasks) {
        return new StatefulRouteForServerDriver(this.executor,
                new ServerOptions(new PodIdentity(this.ns, "chat", index), 0.25, drain), waitingTasks::get);
    }

    private PodState published(int index) {
        return this.executor.getServiceState(this.ns, "chat").pod(index).orElseThrow();
    }

    /**
     * A pod that removes or hands over its own users hears the notice of each change; that
     * notice must not come back as a lost user. A user moved by another writer still does.
     */
    @Test
    void aPodsOwnRemovalsAndHandOffsAreNotReportedAsLosses() {
        StatefulRouteForServerDriver pod = pod(1, Duration.ZERO, new AtomicInteger());
        pod.start();
        pod.followLinkChanges();
        List<String> lost = new CopyOnWriteArrayList<>();
        pod.addOwnershipListener(new OwnershipListener() {
            @Override
            public void usersLost(PodIdentity identity, Set<String> users, LossReason reason) {
                lost.addAll(users);
            }
        });
        int users = 300;
        for (int i = 0; i < users; i++) {
            pod.setLinkedPod("own-" + i, RouteArguments.PERSIST_FOREVER);
        }
        pod.setLinkedPod("taken", RouteArguments.PERSIST_FOREVER);
        for (int i = 0; i < users; i++) {
            String uid = "own-" + i;
            switch (i % 3) {
                case 0 -> pod.removeLinkedPod(uid, 0);
                case 1 -> pod.removeLinkedPodWithId(uid, 0);
                default -> assertThat(pod.handOff(uid, 2)).isTrue();
            }
        }
        // another writer moves a held user: the one loss to report, after every notice above
        this.executor.setLinkedPod(this.ns, "taken", "chat", 3, RouteArguments.PERSIST_FOREVER);
        await().atMost(Duration.ofSeconds(10)).until(() -> lost.contains("taken"));
        assertThat(lost).containsExactly("taken");
        assertThat(pod.heldUsers()).isEmpty();
    }

    @Test
    void heartbeatPublishesTheWeightedLoadScore() {
        AtomicInteger waiting = new AtomicInteger(8);
        StatefulRouteForServerDriver pod = pod(1, Duration.ZERO, waiting);
        pod.setLoadState(40);

        assertThat(pod.heartbeat()).as("nothing is published before start").isTrue();
        assertThat(this.executor.getServiceState(this.ns, "chat").pods()).isEmpty();
        pod.start();

        assertThat(pod.loadScore()).isEqualTo(0.25 * 8 + 0.75 * 40);
        assertThat(published(1).loadScore()).isEqualTo(32.0);
        assertThat(published(1).routingState()).isEqualTo(RoutingState.READY);
        assertThat(pod.heartbeatStatus().healthy()).isTrue();
        assertThatThrownBy(() -> pod.setLoadState(-1)).isInstanceOf(InvalidRouteArgumentException.class);
    }

    @Test
    void heartbeatPublishesTheUsersThePodHoldsAndItsCapacity() {
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(this.executor,
                new ServerOptions(new PodIdentity(this.ns, "chat", 1), 0, Duration.ZERO)
                    .withCapacity(new PodCapacity(100, 80.5)));
        pod.start();
        assertThat(published(1).users()).isZero();
        assertThat(published(1).capacity()).isEqualTo(new PodCapacity(100, 80.5));

        pod.setLinkedPod("alice", RouteArguments.PERSIST_FOREVER);
        pod.setLinkedPod("bob", RouteArguments.PERSIST_FOREVER);
        pod.setLinkedPod("carol", RouteArguments.PERSIST_FOREVER);
        pod.setLinkedPod("dave", 60);
        pod.removeLinkedPod("bob", 0);
        pod.heartbeat();

        assertThat(published(1).users()).as("held users: persistent links this pod made and still holds")
            .isEqualTo(2);
        pod.stop();
    }

    @Test
    void aPodWithAWarmUpPublishesWhenItBecameRoutableAgain() {
        WarmUp warmUp = WarmUp.linear(Duration.ofSeconds(30));
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(this.executor,
                new ServerOptions(new PodIdentity(this.ns, "chat", 2), 0, Duration.ZERO).withWarmUp(warmUp));
        pod.start();
        long started = published(2).routableSinceMillis();
        assertThat(published(2).warmUp()).isEqualTo(warmUp);
        assertThat(started).isBetween(published(2).updateTimeMillis() - 1_000, published(2).updateTimeMillis());

        pod.heartbeat();
        // Redis stamps its own time minus how long the pod had been routable when it sent the
        // heartbeat: the stamp moves by the difference of two heartbeats' one-way latencies (the
        // first one loads the script), nowhere near a ramp of seconds
        assertThat(published(2).routableSinceMillis()).as("the same moment, stamped again")
            .isBetween(started - 100, started + 100);

        pod.setRoutingState(RoutingState.DENY_NEW_CALL);
        pod.heartbeat();
        assertThat(published(2).routableSinceMillis()).as("draining: no warm-up").isEqualTo(-1);

        // a later moment on Redis' clock than the first start, to tell the two apart
        await().atMost(Duration.ofSeconds(5))
            .until(() -> this.executor.getServiceState(this.ns, "chat").readTimeMillis() > started + 20);
        long readyAgainAfter = this.executor.getServiceState(this.ns, "chat").readTimeMillis();
        pod.setRoutingState(RoutingState.READY);
        pod.heartbeat();
        assertThat(published(2).routableSinceMillis()).as("back to READY: the ramp starts again")
            .isBetween(readyAgainAfter - 2, published(2).updateTimeMillis());
        pod.stop();
    }

    @Test
    void onlyPodZeroPublishesTheWorkloadState() {
        StatefulRouteForServerDriver pod0 = pod(0, Duration.ZERO, new AtomicInteger());
        StatefulRouteForServerDriver pod1 = pod(1, Duration.ZERO, new AtomicInteger());
        pod1.setWorkloadState("from pod 1");
        pod1.start();
        assertThat(this.executor.getWorkloadState(this.ns, List.of("chat"))).isEmpty();

        pod0.setWorkloadState("rooms=12");
        pod0.start();
        assertThat(this.executor.getWorkloadState(this.ns, List.of("chat")).get("chat").value()).isEqualTo("rooms=12");
    }

    @Test
    void routingStateChangesArePublishedAtOnce() {
        StatefulRouteForServerDriver pod = pod(2, Duration.ZERO, new AtomicInteger());
        pod.start();

        assertThat(pod.setRoutingState(RoutingState.DENY_NEW_CALL)).isTrue();
        await().atMost(Duration.ofSeconds(2))
            .until(() -> published(2).routingState() == RoutingState.DENY_NEW_CALL);
        pod.setRoutingState(RoutingState.READY);
        await().atMost(Duration.ofSeconds(2)).until(() -> published(2).routingState() == RoutingState.READY);
    }

    @Test
    void stopDrainsWhileHeartbeatsContinueThenShutsDown() {
        StatefulRouteForServerDriver pod = pod(3, Duration.ofMillis(800), new AtomicInteger());
        pod.start();
        List<RoutingState> seen = new ArrayList<>();

        CompletableFuture<Void> stopped = pod.stopAsync();
        assertThat(pod.stopAsync()).as("idempotent").isSameAs(stopped);
        assertThat(pod.getRoutingState()).isEqualTo(RoutingState.DENY_NEW_CALL);
        assertThat(pod.setRoutingState(RoutingState.READY)).as("no undrain while stopping").isFalse();

        // the scheduler's role: keep heartbeating during the drain, observing what Redis holds
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> {
            pod.heartbeat();
            seen.add(published(3).routingState());
            return stopped.isDone();
        });
        await().atMost(Duration.ofSeconds(2)).until(() -> published(3).routingState() == RoutingState.SHUTDOWN);

        assertThat(seen).contains(RoutingState.DENY_NEW_CALL).doesNotContain(RoutingState.READY);
        assertThat(seen.indexOf(RoutingState.DENY_NEW_CALL)).isZero();
        long updatedAtShutdown = published(3).updateTimeMillis();
        assertThat(pod.heartbeat()).isTrue();
        assertThat(published(3).updateTimeMillis()).as("no heartbeat after stop").isEqualTo(updatedAtShutdown);
        assertThat(published(3).routingState()).isEqualTo(RoutingState.SHUTDOWN);
        assertThat(pod.isRunning()).isFalse();
    }

    @Test
    void stopBeforeStartPublishesNothing() {
        StatefulRouteForServerDriver pod = pod(4, Duration.ofSeconds(30), new AtomicInteger());
        assertThat(pod.stopAsync()).isCompleted();
        pod.start();
        assertThat(this.executor.getServiceState(this.ns, "chat").pods()).isEmpty();
    }

    @Test
    void linksOfOwnUsers() {
        StatefulRouteForServerDriver pod5 = pod(5, Duration.ZERO, new AtomicInteger());
        StatefulRouteForServerDriver pod6 = pod(6, Duration.ZERO, new AtomicInteger());
        pod5.start();
        pod6.start();

        assertThat(pod5.setLinkedPod("alice", RouteArguments.PERSIST_FOREVER)).isEmpty();
        assertThat(pod6.trySetLinkedPod("alice", RouteArguments.PERSIST_FOREVER).success()).isFalse();
        assertThat(pod6.removeLinkedPodWithId("alice", 0)).isFalse();
        assertThat(pod6.removeLinkedPod("alice", 0)).as("a pod never removes another pod's link").isEmpty();
        assertThat(this.executor.getLinkedPod(this.ns, "alice", "chat")).hasValue(5);
        assertThat(pod5.removeLinkedPodWithId("alice", 0)).isTrue();
        assertThat(pod6.trySetLinkedPod("alice", RouteArguments.PERSIST_FOREVER).success()).isTrue();
        assertThat(pod6.removeLinkedPod("alice", 0)).hasValue(6);
        assertThat(this.executor.getLinkService(this.ns, "alice")).isEmpty();
    }

    /**
     * {@code SHUTDOWN} set through the API ends the lease at once (nothing is owned, writes are
     * refused), and is published only once a write sent before has landed or can no longer land,
     * since gateways move a shut-down pod's users at once. Leaving it begins a new lease.
     */
    @Test
    void shutdownEndsTheLeaseAtOnceAndIsPublishedOnceEarlierWritesSettled() throws Exception {
        GatedExecutor gates = GatedExecutor.around(this.executor);
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(gates.executor(),
                new ServerOptions(new PodIdentity(this.ns, "chat", 7), 0, Duration.ZERO)
                    .withLease(Duration.ofMillis(1500), Duration.ofMillis(300), Duration.ofMillis(600)));
        pod.start();
        pod.setLinkedPod("alice", RouteArguments.PERSIST_FOREVER);
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
            .until(() -> pod.heartbeat() && pod.owns("alice"));
        GatedExecutor.Gate paused = gates.holdNextSend("setLinkedPodAsync");
        CompletableFuture<Void> write = CompletableFuture.runAsync(
                () -> pod.setLinkedPod("bob", RouteArguments.PERSIST_FOREVER));
        paused.awaitArrival(Duration.ofSeconds(5));

        assertThat(pod.setRoutingState(RoutingState.SHUTDOWN)).isTrue();
        assertThat(pod.isLeaseLive()).isFalse();
        assertThat(pod.owns("alice")).isFalse();
        assertThatThrownBy(() -> pod.setLinkedPod("carol", RouteArguments.PERSIST_FOREVER))
            .isInstanceOf(PodLeaseLapsedException.class);
        assertThat(pod.heartbeat()).isTrue();
        assertThat(published(7).routingState()).as("not SHUTDOWN while a write sent before may land")
            .isEqualTo(RoutingState.DENY_NEW_CALL);

        paused.release();
        write.get(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(5)).until(() -> published(7).routingState() == RoutingState.SHUTDOWN);
        assertThat(this.executor.getLinkedPod(this.ns, "bob", "chat")).as("landed before SHUTDOWN").hasValue(7);
        assertThat(this.executor.getLinkedPod(this.ns, "carol", "chat")).isEmpty();
        assertThat(pod.owns("bob")).isFalse();

        pod.setRoutingState(RoutingState.READY);
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
            .until(() -> pod.heartbeat() && pod.owns("alice") && pod.owns("bob"));
        pod.stop();
    }

    @Test
    void aPodNeverStartedOrStoppedRefusesWrites() {
        StatefulRouteForServerDriver pod = pod(8, Duration.ZERO, new AtomicInteger());
        assertThatThrownBy(() -> pod.setLinkedPod("early", RouteArguments.PERSIST_FOREVER))
            .isInstanceOf(PodLeaseLapsedException.class);
        pod.start();
        pod.setLinkedPod("held", RouteArguments.PERSIST_FOREVER);
        pod.stop();

        assertThatThrownBy(() -> pod.setLinkedPod("late", RouteArguments.PERSIST_FOREVER))
            .isInstanceOf(PodLeaseLapsedException.class);
        assertThatThrownBy(() -> pod.removeLinkedPod("held", 0)).isInstanceOf(PodLeaseLapsedException.class);
        assertThatThrownBy(() -> pod.handOff("held", 9)).isInstanceOf(PodLeaseLapsedException.class);
        assertThat(this.executor.getLinkedPod(this.ns, "early", "chat")).isEmpty();
        assertThat(this.executor.getLinkedPod(this.ns, "late", "chat")).isEmpty();
        assertThat(this.executor.getLinkedPod(this.ns, "held", "chat")).hasValue(8);
    }

    @Test
    void heartbeatsPublishThePodsLeaseTerms() {
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(this.executor,
                new ServerOptions(new PodIdentity(this.ns, "chat", 9), 0, Duration.ZERO)
                    .withLease(Duration.ofMillis(1500), Duration.ofMillis(300), Duration.ofMillis(600)));
        pod.start();
        assertThat(published(9).leaseTerms())
            .isEqualTo(new LeaseTerms(Duration.ofMillis(1500), Duration.ofMillis(600)));
        pod.stop();
    }

    @Test
    void heartbeatFailuresAreRecordedNotThrown() {
        try (RedisServer own = RedisServers.standalone().start(); TestRedis ownRedis = TestRedis.on(own)) {
            StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(ownRedis.executor(Duration.ofMillis(300)),
                    new ServerOptions(new PodIdentity(this.ns, "chat", 0), 0, Duration.ZERO));
            pod.start();
            assertThat(pod.heartbeatStatus().healthy()).isTrue();
            own.stop();

            assertThat(pod.heartbeat()).isFalse();
            assertThat(pod.heartbeatStatus().healthy()).isFalse();
            assertThat(pod.heartbeatStatus().lastError()).isNotBlank();

            own.start();
            await().atMost(Duration.ofSeconds(10)).until(pod::heartbeat);
            assertThat(pod.heartbeatStatus().consecutiveFailures()).isZero();
        }
    }

    /**
     * Operators (or a readiness listener) setting READY while the pod is told to stop: once
     * {@code stopAsync} has begun, the pod never again advertises itself as READY, in memory or
     * in Redis.
     */
    @Test
    void aConcurrentReadyCannotUndoTheDrain() throws Exception {
        for (int round = 0; round < DRAIN_RACE_ROUNDS; round++) {
            StatefulRouteForServerDriver pod = pod(round, Duration.ofMinutes(1), new AtomicInteger());
            pod.start();
            CyclicBarrier start = new CyclicBarrier(SETTERS + 1);
            List<Thread> setters = new ArrayList<>();
            for (int i = 0; i < SETTERS; i++) {
                RoutingState state = (i % 2 == 0) ? RoutingState.READY : RoutingState.DENY_NEW_CALL;
                Thread setter = new Thread(() -> {
                    arrive(start);
                    // each call publishes a heartbeat: enough of them to straddle the stop, not to flood Redis
                    for (int call = 0; call < CALLS_PER_SETTER; call++) {
                        pod.setRoutingState(state);
                        pod.setRoutingState(RoutingState.READY);
                    }
                });
                setter.start();
                setters.add(setter);
            }
            arrive(start);
            for (int spin = 0; spin < round % 20; spin++) {
                Thread.onSpinWait();
            }
            pod.stopAsync();
            for (Thread setter : setters) {
                setter.join();
            }
            pod.setRoutingState(RoutingState.READY);

            assertThat(pod.getRoutingState()).as("round %d", round).isEqualTo(RoutingState.DENY_NEW_CALL);
            assertThat(pod.setRoutingState(RoutingState.READY)).isFalse();
            // one connection keeps the order of commands: this read comes after every heartbeat sent
            assertThat(this.executor.getServiceState(this.ns, "chat").pod(round).orElseThrow().routingState())
                .as("state in Redis after round %d", round)
                .isEqualTo(RoutingState.DENY_NEW_CALL);
        }
    }

    private static void arrive(CyclicBarrier barrier) {
        try {
            barrier.await();
        }
        catch (InterruptedException | BrokenBarrierException ex) {
            throw new IllegalStateException(ex);
        }
    }
}
