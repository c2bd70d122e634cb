package io.statefulroute.core;

/**
 * A new link was needed and pods of the service are alive and {@code READY}, but every one of
 * them is at the capacity it declares (its users or its load ceiling). Users already linked
 * keep their pods. Retrying succeeds once a pod has room again: users leave, a pod is added, or
 * the load falls.
 */
public class PodsAtCapacityException extends NoRoutablePodException {

    private final int routablePods;

    public PodsAtCapacityException(String namespace, String service, int routablePods) {
        super(namespace, service, "All " + routablePods + " routable pods of service '" + service + "' in namespace '"
                + namespace + "' are at capacity: none takes a new user");
        this.routablePods = routablePods;
    }

    /** How many pods were alive and {@code READY}, all of them full. */
    public int getRoutablePods() {
        return this.routablePods;
    }
}
