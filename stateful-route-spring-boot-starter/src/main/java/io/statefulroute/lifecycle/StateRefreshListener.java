package io.statefulroute.lifecycle;

import org.jspecify.annotations.Nullable;

/**
 * Told when a state cache refresh run by the starter's scheduler ends, for metrics.
 * Implementations must be thread-safe and quick: they run on a Redis client thread.
 */
@FunctionalInterface
public interface StateRefreshListener {

    /** Does nothing. */
    StateRefreshListener NOOP = (nanos, error) -> {
    };

    /**
     * A refresh of every known service ended.
     * @param nanos how long the refresh took
     * @param error why some service could not be read, or null when all were
     */
    void refreshed(long nanos, @Nullable Throwable error);

}
