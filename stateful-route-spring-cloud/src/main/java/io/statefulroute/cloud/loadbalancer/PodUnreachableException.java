package io.statefulroute.cloud.loadbalancer;

import io.statefulroute.core.StatefulRouteException;

/**
 * The user is linked to a pod that the balancer cannot send the request to right now; the
 * subclass says why. The user is not moved for it: only the pod's lease decides that.
 */
public abstract class PodUnreachableException extends StatefulRouteException {

    private final String service;

    private final int podIndex;

    protected PodUnreachableException(String namespace, String service, int podIndex, String why) {
        this(namespace, service, podIndex, why, null);
    }

    protected PodUnreachableException(String namespace, String service, int podIndex, String why, Throwable cause) {
        super("Pod " + podIndex + " of service '" + service + "' in namespace '" + namespace + "' " + why, cause);
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
