package io.statefulroute.cloud.loadbalancer;

import io.statefulroute.core.StatefulRouteException;

/**
 * The user's pod serves its users but advertises no address to reach it at: a pod of a
 * version before addresses, or one whose advertised address is switched off. Its users
 * reach it again once it advertises one.
 */
public class PodAddressUnknownException extends StatefulRouteException {

    private final String service;

    private final int podIndex;

    public PodAddressUnknownException(String namespace, String service, int podIndex) {
        super("Pod " + podIndex + " of service '" + service + "' in namespace '" + namespace
                + "' advertises no address; set stateful-route.server.advertised-address on its pods");
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
