package io.statefulroute.core.redis;

/**
 * Told about every Redis operation of a {@link RedisStatefulExecutor}, for metrics and
 * tracing. Operation names are the executor's method names without {@code Async}, e.g.
 * {@code setLinkedPodIfAbsent}, {@code heartbeat}, {@code getServiceState}.
 */
public interface RedisCallListener {

    /** Does nothing, at no cost. */
    RedisCallListener NOOP = new RedisCallListener() {
    };

    /**
     * An operation is sent (on the caller's thread).
     * @return a token handed back to {@link #finished}, e.g. a started trace span
     */
    default Object started(String operation) {
        return null;
    }

    /** The operation answered or failed ({@code error} non-null) after {@code nanos}. */
    default void finished(Object token, String operation, long nanos, Throwable error) {
    }
}
