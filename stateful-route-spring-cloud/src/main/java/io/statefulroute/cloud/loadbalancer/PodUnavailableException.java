package io.statefulroute.cloud.loadbalancer;

/**
 * The user's pod stopped heartbeating, or refused the connection the request was to be
 * proxied on (it crashed, and its heartbeat is not stale yet), but its lease may not have
 * lapsed: the user is not moved before it has (pod expiry plus relink grace), so that one
 * pod at most owns the user. Retrying after the lapse reaches a live pod.
 */
public class PodUnavailableException extends PodUnreachableException {

    private static final String USERS_WAIT = "its users move to a live pod once its lease has lapsed";

    /** The pod stopped heartbeating. */
    public PodUnavailableException(String namespace, String service, int podIndex) {
        super(namespace, service, podIndex, "is not available; " + USERS_WAIT);
    }

    /**
     * Nothing accepted a connection at the pod's address.
     * @param connectFailure why the connection failed
     */
    public PodUnavailableException(String namespace, String service, int podIndex, Throwable connectFailure) {
        super(namespace, service, podIndex, "does not accept connections; " + USERS_WAIT, connectFailure);
    }

}
