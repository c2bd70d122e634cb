package io.statefulroute.cloud.loadbalancer;

import org.jspecify.annotations.Nullable;

import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.loadbalancer.DefaultResponse;

/**
 * The answer of a {@link StatefulRouteLoadBalancer}: the pod's instance, and which user's
 * link chose it. Spring Cloud Gateway keeps it in the exchange
 * ({@code gatewayLoadBalancerResponse}), where a proxied WebSocket session finds the link it
 * is to follow.
 */
public final class PodChoice extends DefaultResponse {

    private final String namespace;

    private final @Nullable String uid;

    private final String service;

    private final int podIndex;

    private final long decidedAtNanos;

    /**
     * @param uid the request's user, null for a request without one (sent to a routable pod,
     * with no link)
     * @param decidedAtNanos {@link System#nanoTime()} before the link was looked up: a change
     * noticed since may not be reflected in this choice
     */
    public PodChoice(ServiceInstance instance, String namespace, @Nullable String uid, String service, int podIndex,
            long decidedAtNanos) {
        super(instance);
        this.namespace = namespace;
        this.uid = uid;
        this.service = service;
        this.podIndex = podIndex;
        this.decidedAtNanos = decidedAtNanos;
    }

    public String namespace() {
        return this.namespace;
    }

    /** The user whose link chose the pod, null when the request named none. */
    public @Nullable String uid() {
        return this.uid;
    }

    public String service() {
        return this.service;
    }

    public int podIndex() {
        return this.podIndex;
    }

    /** {@link System#nanoTime()} before the link was looked up. */
    public long decidedAtNanos() {
        return this.decidedAtNanos;
    }

    @Override
    public String toString() {
        return "PodChoice[" + this.namespace + "/" + this.service + " pod " + this.podIndex + " for "
                + ((this.uid != null) ? this.uid : "no user") + "]";
    }

}
