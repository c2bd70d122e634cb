package io.statefulroute.cloud.loadbalancer;

import io.statefulroute.core.StatefulRouteException;

/**
 * The user's pod stopped heartbeating, but its lease may not have lapsed yet: the user is
 * not moved before it has (pod expiry plus relink grace), so that one pod at most owns the
 * user, and proxying to a dead address would fail. Retrying after the relink grace reaches
 * a live pod.
 */
public class PodUnavailableException extends StatefulRouteException {

    private final String service;

    private final int podIndex;

    public PodUnavailableException(String namespace, String service, int podIndex) {
        super("Pod " + podIndex + " of service '" + service + "' in namespace '" + namespace
                + "' is not available; its users move to a live pod once its lease has lapsed");
        this.service = service;
        this.podIndex = podIndex;
    }

    public String getService() {
        return this.service;
    }

    public int getPodIndex() {
        return this.podIndex;
    }

}
