package io.statefulroute.core;

/**
 * Redis did not answer within the command timeout, or the connection is down. The operation
 * may or may not have been applied; every operation of stateful-route is safe to retry.
 * The underlying client reconnects by itself, so later calls succeed once Redis is back.
 */
public class RedisUnavailableException extends StatefulRouteException {

    public RedisUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
