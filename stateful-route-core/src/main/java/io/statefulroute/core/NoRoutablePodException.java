package io.statefulroute.core;

/**
 * A new link was needed but no pod of the service is alive and {@code READY}: every pod is
 * dead, draining or shutting down, or the service has never published a heartbeat.
 * Retrying after the service's pods come up succeeds.
 */
public class NoRoutablePodException extends StatefulRouteException {

    private final String namespace;

    private final String service;

    public NoRoutablePodException(String namespace, String service) {
        super("No routable pod of service '" + service + "' in namespace '" + namespace
                + "': no pod is alive and READY");
        this.namespace = namespace;
        this.service = service;
    }

    public String getNamespace() {
        return this.namespace;
    }

    public String getService() {
        return this.service;
    }
}
