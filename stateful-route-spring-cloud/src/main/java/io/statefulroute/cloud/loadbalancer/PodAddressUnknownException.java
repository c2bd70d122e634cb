package io.statefulroute.cloud.loadbalancer;

/**
 * The user's pod serves its users but advertises no address to reach it at: a pod of a
 * version before addresses, or one whose advertised address is switched off. Its users
 * reach it again once it advertises one.
 */
public class PodAddressUnknownException extends PodUnreachableException {

    public PodAddressUnknownException(String namespace, String service, int podIndex) {
        super(namespace, service, podIndex,
                "advertises no address; set stateful-route.server.advertised-address on its pods");
    }

}
