package io.statefulroute.core.state;

/**
 * A change of one pod seen by the {@link ServiceStateCache} between two reads.
 *
 * @param namespace the namespace
 * @param service the service
 * @param podIndex the pod
 * @param kind what changed
 * @param previous the pod's state before, null if it was not seen before
 * @param current the pod's state now, null if its entry is gone from Redis
 */
public record PodStateChange(String namespace, String service, int podIndex, Kind kind, PodState previous,
        PodState current) {

    /** What changed. */
    public enum Kind {

        /** The pod is alive: it appeared or its heartbeats came back. */
        UP,

        /** The pod's heartbeats are older than the expiry, or its entry is gone: its users will be relinked. */
        DOWN,

        /** The pod switched to DENY_NEW_CALL: it keeps its users and takes no new ones. */
        DRAINING,

        /** The pod switched back to READY. */
        READY,

        /** The pod published SHUTDOWN. */
        SHUTDOWN,

        /** The pod's load score moved by at least the configured threshold. */
        LOAD_CHANGED
    }
}
