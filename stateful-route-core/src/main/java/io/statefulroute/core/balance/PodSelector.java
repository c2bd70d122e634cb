package io.statefulroute.core.balance;

import java.util.List;

import io.statefulroute.core.state.PodState;

/**
 * Picks the pod a new user is linked to. Implementations must be thread-safe and cheap:
 * they run on the request path of every new user. Built-ins: {@link PodSelectionStrategy}.
 */
@FunctionalInterface
public interface PodSelector {

    /**
     * Picks one pod.
     * @param service the service the user is routed to
     * @param routable the alive READY pods, never empty, ordered by pod index
     * @return one of {@code routable}
     */
    PodState select(String service, List<PodState> routable);

    /**
     * Tells the selector how long a call to a pod took, for selectors that weigh response
     * times; others ignore it.
     */
    default void recordResponseTime(String service, int podIndex, long nanos) {
    }
}
