package io.statefulroute.core.state;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RouteArguments;

/**
 * What a pod publishes with each heartbeat for the gateways that place new users, and for
 * whatever balances its users later: how many users it holds and how many it takes. Gateways
 * read it back as {@link PodState#users()} and {@link PodState#capacity()}.
 *
 * @param users users the pod holds now, >= 0
 * @param capacity how many it takes
 */
public record PodPlacement(int users, PodCapacity capacity) {

    public PodPlacement {
        if (users < 0) {
            throw new InvalidRouteArgumentException("users", users + " must be >= 0");
        }
        RouteArguments.requireNonNull("capacity", capacity);
    }
}
