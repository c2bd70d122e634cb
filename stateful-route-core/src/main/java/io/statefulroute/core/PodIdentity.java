package io.statefulroute.core;

/**
 * Who this pod is: the namespace it runs in, the stateful service it belongs to and its
 * ordinal index in the service's StatefulSet.
 */
public record PodIdentity(String namespace, String service, int podIndex) {

    public PodIdentity {
        RouteArguments.requireId("namespace", namespace);
        RouteArguments.requireId("service", service);
        RouteArguments.requirePodIndex("podIndex", podIndex);
    }

    @Override
    public String toString() {
        return this.namespace + "/" + this.service + "-" + this.podIndex;
    }
}
