package io.statefulroute.core.state;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RouteArguments;

/**
 * What a pod publishes with each heartbeat for the gateways that place new users, and for
 * whatever balances its users later: how many users it holds, how many it takes, and how it
 * ramps up after becoming routable. Gateways read it back as {@link PodState#users()},
 * {@link PodState#capacity()}, {@link PodState#routableSinceMillis()} and {@link PodState#warmUp()}.
 *
 * @param users users the pod holds now, >= 0
 * @param capacity how many it takes
 * @param routableForMillis how long the pod has been routable, on its own clock (Redis stamps
 * when that began); -1 when it is not routable or publishes no warm-up
 * @param warmUp its ramp, published with {@code routableForMillis}
 */
public record PodPlacement(int users, PodCapacity capacity, long routableForMillis, WarmUp warmUp) {

    public PodPlacement {
        if (users < 0) {
            throw new InvalidRouteArgumentException("users", users + " must be >= 0");
        }
        RouteArguments.requireNonNull("capacity", capacity);
        if (routableForMillis < -1) {
            throw new InvalidRouteArgumentException("routableForMillis", routableForMillis + " must be >= -1");
        }
        RouteArguments.requireNonNull("warmUp", warmUp);
    }

    /** What a pod publishes that has no warm-up. */
    public PodPlacement(int users, PodCapacity capacity) {
        this(users, capacity, -1, WarmUp.NONE);
    }

    /** Whether the warm-up is published: the pod has one and is routable. */
    public boolean publishesWarmUp() {
        return this.routableForMillis >= 0 && this.warmUp.isEnabled();
    }
}
