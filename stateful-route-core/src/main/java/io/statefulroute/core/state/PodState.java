package io.statefulroute.core.state;

/**
 * One pod's last published state.
 *
 * @param podIndex ordinal of the pod in its StatefulSet
 * @param loadScore weighted load published by the pod; lower means more room
 * @param routingState what the pod accepts
 * @param updateTimeMillis when the pod last published, on Redis' clock (epoch millis)
 */
public record PodState(int podIndex, double loadScore, RoutingState routingState, long updateTimeMillis) {
}
