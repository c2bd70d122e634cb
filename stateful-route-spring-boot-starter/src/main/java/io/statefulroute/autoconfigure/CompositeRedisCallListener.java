package io.statefulroute.autoconfigure;

import java.util.List;

import io.statefulroute.core.redis.RedisCallListener;

/**
 * Several {@link RedisCallListener}s as one: each gets its own token back.
 */
final class CompositeRedisCallListener implements RedisCallListener {

    private final RedisCallListener[] listeners;

    private CompositeRedisCallListener(List<RedisCallListener> listeners) {
        this.listeners = listeners.toArray(RedisCallListener[]::new);
    }

    /** {@link RedisCallListener#NOOP} for none, the listener itself for one, else a composite. */
    static RedisCallListener of(List<RedisCallListener> listeners) {
        return switch (listeners.size()) {
            case 0 -> RedisCallListener.NOOP;
            case 1 -> listeners.get(0);
            default -> new CompositeRedisCallListener(listeners);
        };
    }

    @Override
    public Object started(String operation) {
        Object[] tokens = new Object[this.listeners.length];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = this.listeners[i].started(operation);
        }
        return tokens;
    }

    @Override
    public void finished(Object token, String operation, long nanos, Throwable error) {
        Object[] tokens = (Object[]) token;
        for (int i = 0; i < tokens.length; i++) {
            this.listeners[i].finished(tokens[i], operation, nanos, error);
        }
    }

}
