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
 */
public record PodState(int podIndex, double loadScore, RoutingState routingState, long updateTimeMillis,
        PodAddress address) {

    /** The state of a pod that advertises no address. */
    public PodState(int podIndex, double loadScore, RoutingState routingState, long updateTimeMillis) {
        this(podIndex, loadScore, routingState, updateTimeMillis, null);
    }
}
