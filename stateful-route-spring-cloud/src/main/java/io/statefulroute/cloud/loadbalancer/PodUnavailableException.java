package io.statefulroute.cloud.loadbalancer;

/**
 * The user's pod stopped heartbeating, but its lease may not have lapsed yet: the user is
 * not moved before it has (pod expiry plus relink grace), so that one pod at most owns the
 * user, and proxying to a dead address would fail. Retrying after the relink grace reaches
 * a live pod.
 */
public class PodUnavailableException extends PodUnreachableException {

    public PodUnavailableException(String namespace, String service, int podIndex) {
        super(namespace, service, podIndex, "is not available; its users move to a live pod once its lease has lapsed");
    }

}
