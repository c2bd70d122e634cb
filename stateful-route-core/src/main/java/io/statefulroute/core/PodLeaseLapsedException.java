package io.statefulroute.core;

/**
 * This pod's lease has ended, so gateways may already be moving its users elsewhere: the
 * pod's last heartbeat that reached Redis is older than the pod expiry minus the lease margin,
 * or the pod shut down or stopped. Nothing was written to Redis: either the pod knew and did
 * not send the write, or Redis refused it where it landed (its fence, the lease's end on Redis'
 * clock, had passed). The pod takes no users until a heartbeat succeeds again; retry once
 * {@code StatefulRouteForServerDriver.isLeaseLive()} is true, or let the gateway route the user
 * to a live pod.
 */
public class PodLeaseLapsedException extends FencedWriteException {

    public PodLeaseLapsedException(PodIdentity pod) {
        super("Pod " + pod + " has no live lease: it takes no users until a heartbeat reaches Redis again");
    }

    /** Redis refused the pod's write: the lease had ended on Redis' clock by the time it landed. */
    public PodLeaseLapsedException(PodIdentity pod, FencedWriteException refusal) {
        super("Pod " + pod + "'s write reached Redis after its lease ended (Redis' clock " + refusal.redisTimeMillis()
                + " ms, fence " + refusal.fenceMillis() + " ms): refused, nothing was written",
                refusal.redisTimeMillis(), refusal.fenceMillis());
        initCause(refusal);
    }
}
