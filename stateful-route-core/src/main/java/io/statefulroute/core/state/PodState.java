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
 * @param users how many users the pod held when it published, or -1 when it publishes no count
 * (a pod of a version before counts)
 * @param capacity how many users the pod takes; {@link PodCapacity#UNLIMITED} when it declares
 * no capacity
 */
public record PodState(int podIndex, double loadScore, RoutingState routingState, long updateTimeMillis,
        PodAddress address, LeaseTerms leaseTerms, int users, PodCapacity capacity) {

    /** The state of a pod that publishes no user count and no capacity. */
    public PodState(int podIndex, double loadScore, RoutingState routingState, long updateTimeMillis,
            PodAddress address, LeaseTerms leaseTerms) {
        this(podIndex, loadScore, routingState, updateTimeMillis, address, leaseTerms, -1, PodCapacity.UNLIMITED);
    }

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
