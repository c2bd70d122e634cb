package io.statefulroute.core.state;

/**
 * Told about pod changes the {@link ServiceStateCache} detects when it reads a service
 * (on refresh or on demand). Called on the Redis client's thread: hand heavy work off.
 */
@FunctionalInterface
public interface PodStateListener {

    void podStateChanged(PodStateChange change);
}
