package io.statefulroute.autoconfigure;

import java.util.List;

import io.statefulroute.core.link.RouteListener;
import io.statefulroute.core.link.RouteOutcome;

/**
 * Several {@link RouteListener}s as one: each gets its own token back. Cache hits go
 * through a plain array loop, so they still allocate nothing.
 */
final class CompositeRouteListener implements RouteListener {

    private final RouteListener[] listeners;

    private CompositeRouteListener(List<RouteListener> listeners) {
        this.listeners = listeners.toArray(RouteListener[]::new);
    }

    /** {@link RouteListener#NOOP} for none, the listener itself for one, else a composite. */
    static RouteListener of(List<RouteListener> listeners) {
        return switch (listeners.size()) {
            case 0 -> RouteListener.NOOP;
            case 1 -> listeners.get(0);
            default -> new CompositeRouteListener(listeners);
        };
    }

    @Override
    public void cacheHit(String namespace, String service, long nanos) {
        for (RouteListener listener : this.listeners) {
            listener.cacheHit(namespace, service, nanos);
        }
    }

    @Override
    public Object resolving(String namespace, String uid, String service) {
        Object[] tokens = new Object[this.listeners.length];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = this.listeners[i].resolving(namespace, uid, service);
        }
        return tokens;
    }

    @Override
    public void resolved(Object token, String namespace, String service, RouteOutcome outcome,
            long nanos, Throwable error) {
        Object[] tokens = (Object[]) token;
        for (int i = 0; i < tokens.length; i++) {
            this.listeners[i].resolved(tokens[i], namespace, service, outcome, nanos, error);
        }
    }

}
