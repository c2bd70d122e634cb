package io.statefulroute.event;

import io.statefulroute.core.state.PodStateChange;

import org.springframework.context.ApplicationEvent;

/**
 * A pod of a stateful service went up, down, draining, ready, shut down, or its load moved,
 * as the state cache saw on its last read. Listen with {@code @EventListener}, e.g. to act
 * when a pod dies. Published on the Redis client's thread: hand heavy work off.
 */
public class PodStateChangedEvent extends ApplicationEvent {

    private final PodStateChange change;

    public PodStateChangedEvent(Object source, PodStateChange change) {
        super(source);
        this.change = change;
    }

    /** What changed, with the pod's state before and after. */
    public PodStateChange getChange() {
        return this.change;
    }

    @Override
    public String toString() {
        return "PodStateChangedEvent[" + this.change + "]";
    }
}
