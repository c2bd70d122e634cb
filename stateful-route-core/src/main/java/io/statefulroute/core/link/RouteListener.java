package io.statefulroute.core.link;

/**
 * Told about every routing decision of a {@link StatefulRouteForClientDriver}, for metrics
 * and tracing. Implementations must be thread-safe; {@link #cacheHit} runs on every cached
 * request and must not allocate.
 */
public interface RouteListener {

    /** Does nothing, at no cost. */
    RouteListener NOOP = new RouteListener() {
    };

    /** A decision answered from the local cache in {@code nanos}. */
    default void cacheHit(String namespace, String service, long nanos) {
    }

    /**
     * A decision that needs Redis starts (on the caller's thread).
     * @return a token handed back to {@link #resolved}, e.g. a started trace span
     */
    default Object resolving(String namespace, String uid, String service) {
        return null;
    }

    /** The decision started by {@link #resolving} ended; {@code error} is null unless it failed. */
    default void resolved(Object token, String namespace, String service, RouteOutcome outcome, long nanos,
            Throwable error) {
    }
}
