package io.statefulroute.core.state;

/**
 * One pod's last published state.
 *
 * @param podIndex ordinal of the pod in its StatefulSet
 * @param loadScore weighted load published by the pod; lower means more room
 * @param routingState what the pod accepts
 * @param updateTimeMillis when the pod last published, on Redis' clock (epoch millis)
 * @param address where the pod serves its users, or null when it advertises none (a pod of a
 * version before addresses, or one that is not a web server)
 * @param leaseTerms the pod's own expiry and relink grace, or null when it publishes none (a pod
 * of a version before they were published): gateways then judge it by their own settings
 */
public record PodState(int podIndex, double loadScore, RoutingState routingState, long updateTimeMillis,
        PodAddress address, LeaseTerms leaseTerms) {

    /** The state of a pod that publishes no lease terms. */
    public PodState(int podIndex, double loadScore, RoutingState routingState, long updateTimeMillis,
            PodAddress address) {
        this(podIndex, loadScore, routingState, updateTimeMillis, address, null);
    }

    /** The state of a pod that advertises no address and publishes no lease terms. */
    public PodState(int podIndex, double loadScore, RoutingState routingState, long updateTimeMillis) {
        this(podIndex, loadScore, routingState, updateTimeMillis, null, null);
    }
}
