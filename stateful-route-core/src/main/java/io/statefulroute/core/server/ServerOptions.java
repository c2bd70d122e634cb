package io.statefulroute.core.server;

import java.time.Duration;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;

/**
 * Settings of a {@link StatefulRouteForServerDriver}.
 *
 * @param identity this pod
 * @param cpuFactor weight of waiting tasks in the load score, 0..1; the load state gets the rest
 * @param drainPeriod how long a stopping pod keeps publishing DENY_NEW_CALL before SHUTDOWN
 */
public record ServerOptions(PodIdentity identity, double cpuFactor, Duration drainPeriod) {

    public ServerOptions {
        RouteArguments.requireNonNull("identity", identity);
        if (!(cpuFactor >= 0 && cpuFactor <= 1)) {
            throw new InvalidRouteArgumentException("cpuFactor", cpuFactor + " must be between 0 and 1");
        }
        if (drainPeriod == null || drainPeriod.isNegative()) {
            throw new InvalidRouteArgumentException("drainPeriod", drainPeriod + " must be >= 0");
        }
    }
}
