package io.statefulroute.core.state;

import io.statefulroute.core.InvalidRouteArgumentException;

/**
 * How many users a pod takes, as it declares with each heartbeat: once it holds
 * {@code maxUsers} users, or its load score reaches {@code maxLoad}, gateways give it no new
 * users. It keeps the users it has.
 *
 * @param maxUsers most users the pod holds, at least 1; {@link Integer#MAX_VALUE} for no limit
 * @param maxLoad load score at or above which the pod takes no new users, positive;
 * {@link Double#POSITIVE_INFINITY} for no limit
 */
public record PodCapacity(int maxUsers, double maxLoad) {

    /** No limit: the pod takes new users whatever its count and load (a pod of an older version too). */
    public static final PodCapacity UNLIMITED = new PodCapacity(Integer.MAX_VALUE, Double.POSITIVE_INFINITY);

    public PodCapacity {
        if (maxUsers < 1) {
            throw new InvalidRouteArgumentException("maxUsers", maxUsers + " must be at least 1");
        }
        if (!(maxLoad > 0)) {
            throw new InvalidRouteArgumentException("maxLoad", maxLoad + " must be a positive number");
        }
    }

    /** A capacity in users, with no load ceiling. */
    public static PodCapacity ofUsers(int maxUsers) {
        return new PodCapacity(maxUsers, Double.POSITIVE_INFINITY);
    }

    /** Whether the pod limits its users by count. */
    public boolean limitsUsers() {
        return this.maxUsers != Integer.MAX_VALUE;
    }

    /** Whether the pod limits its users by count or by load. */
    public boolean isLimited() {
        return limitsUsers() || this.maxLoad != Double.POSITIVE_INFINITY;
    }
}
