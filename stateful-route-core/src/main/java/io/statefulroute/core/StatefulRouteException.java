package io.statefulroute.core;

/**
 * Base of every exception stateful-route throws, so callers can catch one type at the
 * edge of a request. Subclasses say what went wrong and what the caller can do about it.
 */
public class StatefulRouteException extends RuntimeException {

    public StatefulRouteException(String message) {
        super(message);
    }

    public StatefulRouteException(String message, Throwable cause) {
        super(message, cause);
    }
}
