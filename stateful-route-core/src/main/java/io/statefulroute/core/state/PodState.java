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
 * @param routableSinceMillis when the pod became routable, on Redis' clock, or -1 when it
 * publishes no warm-up
 * @param warmUp how the pod ramps up to its share of new users after that; {@link WarmUp#NONE}
 * when it publishes none
 */
public record PodState(int podIndex, double loadScore, RoutingState routingState, long updateTimeMillis,
        PodAddress address, LeaseTerms leaseTerms, int users, PodCapacity capacity, long routableSinceMillis,
        WarmUp warmUp) {

    /**
     * When the pod's warm-up ends, on Redis' clock; {@link Long#MIN_VALUE} when it has none: a
     * pod of a version before warm-up, or one published without.
     */
    public long warmUpEndsMillis() {
        return (this.routableSinceMillis >= 0 && this.warmUp.isEnabled())
                ? this.routableSinceMillis + this.warmUp.duration().toMillis() : Long.MIN_VALUE;
    }

    /** The zone the pod advertises with its address, or null. */
    public String zone() {
        return (this.address != null) ? this.address.zone() : null;
    }

    /** The state of a pod that publishes no warm-up. */
    public PodState(int podIndex, double loadScore, RoutingState routingState, long updateTimeMillis,
            PodAddress address, LeaseTerms leaseTerms, int users, PodCapacity capacity) {
        this(podIndex, loadScore, routingState, updateTimeMillis, address, leaseTerms, users, capacity, -1,
                WarmUp.NONE);
    }

    /** The state of a pod that publishes no user count, no capacity and no warm-up. */
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
