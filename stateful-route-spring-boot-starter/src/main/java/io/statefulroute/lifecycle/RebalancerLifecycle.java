package io.statefulroute.lifecycle;

import java.util.concurrent.atomic.AtomicBoolean;

import io.statefulroute.core.rebalance.Rebalancer;

import org.springframework.context.SmartLifecycle;

/**
 * Runs a pod's {@link Rebalancer} rounds while the pod runs: they start once the pod has
 * published its first heartbeat and stop before the pod drains, so a stopping pod hands no
 * user off on its own while gateways learn of its drain (a hand-off under way when it stops
 * completes, fenced by the pod's lease like any other write).
 *
 * <p>With scheduling off ({@code stateful-route.scheduling.enabled=false}) no thread is
 * started: the application runs {@link Rebalancer#runRound()} from its own scheduled methods,
 * as it does the heartbeat.
 */
public class RebalancerLifecycle implements SmartLifecycle {

    /**
     * Phase of this lifecycle: just above {@link StatefulRouteLifecycle#PHASE}, so rounds start
     * after the pod started and stop before its drain begins.
     */
    public static final int PHASE = StatefulRouteLifecycle.PHASE + 1;

    private final Rebalancer rebalancer;

    private final boolean scheduling;

    private final AtomicBoolean running = new AtomicBoolean();

    /**
     * Creates a lifecycle.
     * @param rebalancer the pod's rebalancer
     * @param scheduling whether to run its rounds on its own thread
     */
    public RebalancerLifecycle(Rebalancer rebalancer, boolean scheduling) {
        this.rebalancer = rebalancer;
        this.scheduling = scheduling;
    }

    @Override
    public void start() {
        if (this.running.compareAndSet(false, true) && this.scheduling) {
            this.rebalancer.start();
        }
    }

    @Override
    public void stop() {
        if (this.running.compareAndSet(true, false)) {
            this.rebalancer.stop();
        }
    }

    @Override
    public boolean isRunning() {
        return this.running.get();
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

}
