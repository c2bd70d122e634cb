package io.statefulroute.core;

/**
 * Redis refused a pod's write because it arrived once its fence had passed: the writer's lease
 * had ended by then, or its caller had given up waiting (the write was delayed in the network,
 * behind a paused process, or resent after a reconnect). Nothing was written. The check runs
 * inside the script, on the clock of the Redis server that holds the link, so no delay between
 * the pod's own check and the write can let a late write through.
 */
public class FencedWriteException extends StatefulRouteException {

    private final long redisTimeMillis;

    private final long fenceMillis;

    public FencedWriteException(String message, long redisTimeMillis, long fenceMillis) {
        super(message);
        this.redisTimeMillis = redisTimeMillis;
        this.fenceMillis = fenceMillis;
    }

    /** For a refusal made before anything was sent (the pod knew its lease had ended). */
    protected FencedWriteException(String message) {
        this(message, -1, -1);
    }

    /** Redis' clock (epoch millis) when it refused the write; -1 when the pod refused it before sending. */
    public long redisTimeMillis() {
        return this.redisTimeMillis;
    }

    /** The fence the write carried (epoch millis on Redis' clock); -1 when it was never sent. */
    public long fenceMillis() {
        return this.fenceMillis;
    }
}
