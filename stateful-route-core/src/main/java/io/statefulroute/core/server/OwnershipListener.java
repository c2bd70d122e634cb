package io.statefulroute.core.server;

import java.time.Duration;
import java.util.Set;

import io.statefulroute.core.PodIdentity;

/**
 * Told when this pod's ownership of its users changes. Called on the driver's own lease
 * thread, one call at a time and in order; hand heavy work off.
 */
public interface OwnershipListener {

    /** No-op listener. */
    OwnershipListener NOOP = new OwnershipListener() {
    };

    /**
     * The pod's lease lapsed: it owns none of its users from now on (gateways may relink them
     * once the pod expiry plus the relink grace has passed) and takes no new ones until a
     * heartbeat succeeds again. Stop changing the state of its users now.
     * @param sinceLastSuccess time since the last heartbeat that reached Redis was sent
     */
    default void leaseLapsed(PodIdentity pod, Duration sinceLastSuccess) {
    }

    /**
     * A heartbeat reached Redis again after a lapse: the pod takes new users again. Its users
     * from before the lapse are confirmed (still owned) or reported lost once the relink grace
     * has passed, since a gateway that judged the pod dead earlier may still move them until then.
     */
    default void leaseRenewed(PodIdentity pod) {
    }

    /**
     * Users this pod held are no longer linked to it in Redis: drop their state or hand it to
     * their new pod. Each lost user is reported exactly once.
     */
    default void usersLost(PodIdentity pod, Set<String> uids, LossReason reason) {
    }
}
