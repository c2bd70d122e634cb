package io.statefulroute.lifecycle;

import java.util.concurrent.atomic.AtomicBoolean;

import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;

import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationListener;

/**
 * Follows Spring Boot's {@link ReadinessState}: when the application refuses traffic the pod
 * drains ({@code DENY_NEW_CALL}: it keeps its linked users, gateways send it no new ones);
 * when it accepts traffic again the pod returns to {@code READY}.
 *
 * <p>Only a drain this listener made is undone: a pod drained by hand (through the
 * {@code statefulroute} actuator endpoint or
 * {@link StatefulRouteForServerDriver#setRoutingState}) while the application was accepting
 * traffic stays drained when readiness flips back to {@code ACCEPTING_TRAFFIC}. A pod that is
 * stopping ignores both.
 */
public class ReadinessDrainListener implements ApplicationListener<AvailabilityChangeEvent<ReadinessState>> {

    private final StatefulRouteForServerDriver server;

    private final AtomicBoolean drainedByReadiness = new AtomicBoolean();

    public ReadinessDrainListener(StatefulRouteForServerDriver server) {
        this.server = server;
    }

    @Override
    public void onApplicationEvent(AvailabilityChangeEvent<ReadinessState> event) {
        if (event.getState() == ReadinessState.REFUSING_TRAFFIC) {
            if (this.server.getRoutingState() == RoutingState.READY
                    && this.server.setRoutingState(RoutingState.DENY_NEW_CALL)) {
                this.drainedByReadiness.set(true);
            }
        }
        else if (event.getState() == ReadinessState.ACCEPTING_TRAFFIC) {
            if (this.drainedByReadiness.compareAndSet(true, false)
                    && this.server.getRoutingState() == RoutingState.DENY_NEW_CALL) {
                this.server.setRoutingState(RoutingState.READY);
            }
        }
    }

    /** Readiness changes must be applied in the order they happen. */
    @Override
    public boolean supportsAsyncExecution() {
        return false;
    }

}
