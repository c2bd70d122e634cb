package io.statefulroute.core;

/**
 * This pod's lease has lapsed (no heartbeat reached Redis for longer than the pod expiry minus
 * the lease margin), so gateways may already be moving its users elsewhere: the pod takes no
 * new users until a heartbeat succeeds again. Nothing was written to Redis; retry once
 * {@code StatefulRouteForServerDriver.isLeaseLive()} is true again, or let the gateway route the
 * user to a live pod.
 */
public class PodLeaseLapsedException extends StatefulRouteException {

    public PodLeaseLapsedException(PodIdentity pod) {
        super("Pod " + pod + " has no live lease: it takes no new users until a heartbeat reaches Redis again");
    }
}
