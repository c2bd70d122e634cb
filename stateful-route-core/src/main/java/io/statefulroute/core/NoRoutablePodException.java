package io.statefulroute.core;

/**
 * A new link was needed but no pod of the service is alive and {@code READY}: every pod is
 * dead, draining or shutting down, or the service has never published a heartbeat.
 * Retrying after the service's pods come up succeeds. {@link PodsAtCapacityException} when
 * pods are routable but every one is full.
 */
public class NoRoutablePodException extends StatefulRouteException {

    private final String namespace;

    private final String service;

    public NoRoutablePodException(String namespace, String service) {
        this(namespace, service, "No routable pod of service '" + service + "' in namespace '" + namespace
                + "': no pod is alive and READY");
    }

    /** For subtypes that say why no pod takes the user. */
    protected NoRoutablePodException(String namespace, String service, String message) {
        super(message);
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
