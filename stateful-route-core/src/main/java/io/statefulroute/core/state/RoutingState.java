package io.statefulroute.core.state;

/**
 * What a pod accepts, as it publishes in its heartbeat.
 */
public enum RoutingState {

    /** Serves its linked users and takes new ones. */
    READY,

    /** Draining: serves its linked users but takes no new ones. */
    DENY_NEW_CALL,

    /** Stopping or stopped: takes nothing; its users are relinked on their next call. */
    SHUTDOWN;

    /** Whether a pod in this state may receive new links. */
    public boolean acceptsNewLinks() {
        return this == READY;
    }

    /** Whether a pod in this state still serves the users linked to it. */
    public boolean servesLinkedUsers() {
        return this != SHUTDOWN;
    }
}
