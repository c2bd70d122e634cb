package io.statefulroute.core.balance;

import io.statefulroute.core.InvalidRouteArgumentException;

/**
 * A gateway's preference for the pods of its own zone, for new users: they go to routable pods
 * that advertise the gateway's zone ({@link io.statefulroute.core.state.PodAddress#ZONE}), and
 * to pods of any zone only when none of its zone has room or all of them are busy. Users
 * already linked are never moved for it.
 *
 * @param zone the gateway's zone, or null for no preference
 * @param loadThreshold load score at or above which a pod of the zone counts as busy; when every
 * pod of the zone with room is busy, new users go to pods of any zone.
 * {@link Double#POSITIVE_INFINITY} for none: the zone is preferred while it has room
 */
public record ZonePreference(String zone, double loadThreshold) {

    /** No preference: new users go to pods of any zone. */
    public static final ZonePreference NONE = new ZonePreference(null, Double.POSITIVE_INFINITY);

    public ZonePreference {
        if (zone != null && zone.isBlank()) {
            throw new InvalidRouteArgumentException("zone", "must not be blank; null for no preference");
        }
        if (!(loadThreshold > 0)) {
            throw new InvalidRouteArgumentException("loadThreshold", loadThreshold + " must be a positive number");
        }
    }

    /** A preference for the zone while it has room, however loaded. */
    public static ZonePreference of(String zone) {
        return new ZonePreference(zone, Double.POSITIVE_INFINITY);
    }
}
