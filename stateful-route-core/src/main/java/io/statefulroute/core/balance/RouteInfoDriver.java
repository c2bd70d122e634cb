package io.statefulroute.core.balance;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalInt;

import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.PodsAtCapacityException;
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

    /**
     * The pod a new user should get: the selector's pick among the view's routable pods that
     * have room by the capacity they declare; null when there is none (see {@link #noPodFor}).
     * Where no pod declares a capacity, the selector picks among all routable pods at once.
     */
    public PodState select(ServiceView view) {
        List<PodState> routable = view.routablePods();
        if (routable.isEmpty()) {
            return null;
        }
        if (!view.limitsPlacement()) {
            return this.selector.select(view.service(), routable);
        }
        List<PodState> open = withRoom(view, routable);
        return open.isEmpty() ? null : this.selector.select(view.service(), open);
    }

    /** The pods that have room; the same list when all have, so that the usual case allocates nothing. */
    private static List<PodState> withRoom(ServiceView view, List<PodState> pods) {
        int full = 0;
        while (full < pods.size() && view.hasRoom(pods.get(full))) {
            full++;
        }
        if (full == pods.size()) {
            return pods;
        }
        List<PodState> open = new ArrayList<>(pods.subList(0, full));
        for (int i = full + 1; i < pods.size(); i++) {
            if (view.hasRoom(pods.get(i))) {
                open.add(pods.get(i));
            }
        }
        return open;
    }

    /**
     * Why {@link #select} found no pod on this view: {@link PodsAtCapacityException} when pods
     * are routable but all are full, else {@link NoRoutablePodException}.
     */
    public NoRoutablePodException noPodFor(ServiceView view) {
        int routable = view.routablePods().size();
        return (routable > 0) ? new PodsAtCapacityException(view.namespace(), view.service(), routable)
                : new NoRoutablePodException(view.namespace(), view.service());
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
