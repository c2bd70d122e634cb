package io.statefulroute.core.balance;

import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalInt;

import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;

/**
 * Routing decisions over the {@link ServiceStateCache}: which pod a new user should get,
 * and whether a pod may keep or take users. Loads a service from Redis on first use;
 * afterwards answers from memory.
 */
public final class RouteInfoDriver {

    private final ServiceStateCache states;

    private final PodSelector selector;

    public RouteInfoDriver(ServiceStateCache states, PodSelector selector) {
        this.states = RouteArguments.requireNonNull("states", states);
        this.selector = RouteArguments.requireNonNull("selector", selector);
    }

    /** The pod a new user of the service should get, or empty when no pod is routable. */
    public OptionalInt bestPod(String namespace, String service) {
        PodState best = select(this.states.view(namespace, service));
        return (best != null) ? OptionalInt.of(best.podIndex()) : OptionalInt.empty();
    }

    /** The pod the selector picks among the view's routable pods, or null when there is none. */
    public PodState select(ServiceView view) {
        List<PodState> routable = view.routablePods();
        return routable.isEmpty() ? null : this.selector.select(view.service(), routable);
    }

    /** Whether the pod is alive and READY. */
    public boolean isPodRoutable(String namespace, String service, int podIndex) {
        return this.states.view(namespace, service).isRoutable(podIndex);
    }

    /** Whether the pod is alive and serves its linked users (READY or DENY_NEW_CALL). */
    public boolean isPodAvailable(String namespace, String service, int podIndex) {
        return this.states.view(namespace, service).isAvailable(podIndex);
    }

    /** The service's current view. */
    public ServiceView serviceState(String namespace, String service) {
        return this.states.view(namespace, service);
    }

    /** The pod's published load score, if the pod is alive. */
    public OptionalDouble loadScore(String namespace, String service, int podIndex) {
        ServiceView view = this.states.view(namespace, service);
        PodState pod = view.pod(podIndex);
        return (pod != null && view.isAlive(podIndex)) ? OptionalDouble.of(pod.loadScore()) : OptionalDouble.empty();
    }

    /** Feeds a measured call duration to the selector (used by {@link PodSelectionStrategy#LEAST_RESPONSE_TIME}). */
    public void recordResponseTime(String service, int podIndex, long nanos) {
        this.selector.recordResponseTime(service, podIndex, nanos);
    }

    /** The state cache behind this driver. */
    public ServiceStateCache states() {
        return this.states;
    }
}
