package io.statefulroute.core.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Operators (or a readiness listener) setting READY while the pod is told to stop: once
 * {@code stopAsync} has begun, the pod never again advertises itself as READY, in memory or
 * in Redis.
 */
class DrainRaceTest {

    private static final int ROUNDS = 50;

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

    @Test
    void aConcurrentReadyCannotUndoTheDrain() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(this.executor,
                    new ServerOptions(new PodIdentity(this.ns, "chat", round), 0, Duration.ofMinutes(1)));
            pod.start();
            CyclicBarrier start = new CyclicBarrier(SETTERS + 1);
            List<Thread> setters = new ArrayList<>();
            for (int i = 0; i < SETTERS; i++) {
                RoutingState state = (i % 2 == 0) ? RoutingState.READY : RoutingState.DENY_NEW_CALL;
                Thread setter = new Thread(() -> {
                    await(start);
                    // each call publishes a heartbeat: enough of them to straddle the stop, not to flood Redis
                    for (int call = 0; call < CALLS_PER_SETTER; call++) {
                        pod.setRoutingState(state);
                        pod.setRoutingState(RoutingState.READY);
                    }
                });
                setter.start();
                setters.add(setter);
            }
            await(start);
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

    private static void await(CyclicBarrier barrier) {
        try {
            barrier.await();
        }
        catch (InterruptedException | BrokenBarrierException ex) {
            throw new IllegalStateException(ex);
        }
    }
}
