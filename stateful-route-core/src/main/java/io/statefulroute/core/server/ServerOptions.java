package io.statefulroute.core.server;

import java.time.Duration;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.WarmUp;

/**
 * Settings of a {@link StatefulRouteForServerDriver}.
 *
 * <p>The pod's lease runs from the moment a heartbeat that reached Redis was sent until
 * {@code podExpiry - leaseMargin} later, on the pod's monotonic clock; gateways judge the pod
 * dead only {@code podExpiry} after Redis stamped that heartbeat, and relink its users only
 * {@code relinkGrace} later still. The margin absorbs clock rate drift over one expiry; the
 * grace absorbs the age of a gateway's view of pod states.
 *
 * @param identity this pod
 * @param cpuFactor weight of waiting tasks in the load score, 0..1; the load state gets the rest
 * @param drainPeriod how long a stopping pod keeps publishing DENY_NEW_CALL before SHUTDOWN
 * @param podExpiry how long after its last heartbeat gateways consider a pod dead (same value as theirs)
 * @param leaseMargin how much sooner than the pod expiry the pod considers its own lease lapsed
 * @param relinkGrace how long after the pod expiry gateways wait before relinking a dead pod's users
 * (same value as theirs)
 * @param capacity how many users the pod takes; published with each heartbeat
 * @param warmUp how the pod ramps up to its share of new users once routable; published with
 * each heartbeat
 */
public record ServerOptions(PodIdentity identity, double cpuFactor, Duration drainPeriod, Duration podExpiry,
        Duration leaseMargin, Duration relinkGrace, PodCapacity capacity, WarmUp warmUp) {

    /** Default pod expiry, as the Spring Boot starter's {@code stateful-route.state.pod-expiry}. */
    public static final Duration DEFAULT_POD_EXPIRY = Duration.ofSeconds(5);

    /** Default lease margin. */
    public static final Duration DEFAULT_LEASE_MARGIN = Duration.ofSeconds(1);

    /** Default relink grace. */
    public static final Duration DEFAULT_RELINK_GRACE = Duration.ofSeconds(2);

    public ServerOptions {
        RouteArguments.requireNonNull("identity", identity);
        if (!(cpuFactor >= 0 && cpuFactor <= 1)) {
            throw new InvalidRouteArgumentException("cpuFactor", cpuFactor + " must be between 0 and 1");
        }
        if (drainPeriod == null || drainPeriod.isNegative()) {
            throw new InvalidRouteArgumentException("drainPeriod", drainPeriod + " must be >= 0");
        }
        if (podExpiry == null || podExpiry.isNegative() || podExpiry.isZero()) {
            throw new InvalidRouteArgumentException("podExpiry", podExpiry + " must be positive");
        }
        if (leaseMargin == null || leaseMargin.isNegative() || leaseMargin.isZero()
                || leaseMargin.compareTo(podExpiry) >= 0) {
            throw new InvalidRouteArgumentException("leaseMargin",
                    leaseMargin + " must be positive and shorter than the pod expiry " + podExpiry);
        }
        if (relinkGrace == null || relinkGrace.isNegative()) {
            throw new InvalidRouteArgumentException("relinkGrace", relinkGrace + " must be >= 0");
        }
        RouteArguments.requireNonNull("capacity", capacity);
        RouteArguments.requireNonNull("warmUp", warmUp);
    }

    /** Options of a pod that declares no capacity and no warm-up. */
    public ServerOptions(PodIdentity identity, double cpuFactor, Duration drainPeriod, Duration podExpiry,
            Duration leaseMargin, Duration relinkGrace) {
        this(identity, cpuFactor, drainPeriod, podExpiry, leaseMargin, relinkGrace, PodCapacity.UNLIMITED,
                WarmUp.NONE);
    }

    /** Options with the default pod expiry, lease margin and relink grace. */
    public ServerOptions(PodIdentity identity, double cpuFactor, Duration drainPeriod) {
        this(identity, cpuFactor, drainPeriod, DEFAULT_POD_EXPIRY, DEFAULT_LEASE_MARGIN, DEFAULT_RELINK_GRACE);
    }

    /** These options with other lease timings. */
    public ServerOptions withLease(Duration podExpiry, Duration leaseMargin, Duration relinkGrace) {
        return new ServerOptions(this.identity, this.cpuFactor, this.drainPeriod, podExpiry, leaseMargin, relinkGrace,
                this.capacity, this.warmUp);
    }

    /** These options with another capacity. */
    public ServerOptions withCapacity(PodCapacity capacity) {
        return new ServerOptions(this.identity, this.cpuFactor, this.drainPeriod, this.podExpiry, this.leaseMargin,
                this.relinkGrace, capacity, this.warmUp);
    }

    /** These options with another warm-up. */
    public ServerOptions withWarmUp(WarmUp warmUp) {
        return new ServerOptions(this.identity, this.cpuFactor, this.drainPeriod, this.podExpiry, this.leaseMargin,
                this.relinkGrace, this.capacity, warmUp);
    }

    /** How long a lease lasts from the moment its heartbeat was sent: the pod expiry minus the margin. */
    public Duration leaseDuration() {
        return this.podExpiry.minus(this.leaseMargin);
    }
}
