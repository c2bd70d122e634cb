package io.statefulroute.core.balance;

import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import java.util.function.ToLongFunction;

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

    private final ZonePreference zones;

    private final Placement placement;

    /** A driver for a gateway without a zone preference. */
    public RouteInfoDriver(ServiceStateCache states, PodSelector selector) {
        this(states, selector, ZonePreference.NONE);
    }

    /**
     * @param zones which pods new users prefer: those of the gateway's zone
     */
    public RouteInfoDriver(ServiceStateCache states, PodSelector selector, ZonePreference zones) {
        this(states, selector, zones, ServiceView::serverNowMillis, () -> ThreadLocalRandom.current().nextDouble());
    }

    /**
     * @param clock Redis' clock now, as the view estimates it (a test's own clock)
     * @param random uniform in [0, 1), whether a warming pod keeps a user (a test's own sequence)
     */
    RouteInfoDriver(ServiceStateCache states, PodSelector selector, ZonePreference zones,
            ToLongFunction<ServiceView> clock, DoubleSupplier random) {
        this.states = RouteArguments.requireNonNull("states", states);
        this.selector = RouteArguments.requireNonNull("selector", selector);
        this.zones = RouteArguments.requireNonNull("zones", zones);
        this.placement = new Placement(selector, zones, clock, random);
    }

    /** Which pods this driver gives new users first. */
    public ZonePreference zonePreference() {
        return this.zones;
    }

    /** The pod a new user of the service should get, or empty when no pod is routable. */
    public OptionalInt bestPod(String namespace, String service) {
        PodState best = select(this.states.view(namespace, service));
        return (best != null) ? OptionalInt.of(best.podIndex()) : OptionalInt.empty();
    }

    /**
     * The pod a new user should get: the selector's pick among the view's routable pods that
     * have room by the capacity they declare, those of the gateway's zone first (see
     * {@link ZonePreference}), a pod that warms up keeping it by its weight (see
     * {@link io.statefulroute.core.state.WarmUp}); null when none has room (see
     * {@link #noPodFor}). Where no pod declares a capacity or warms up and the gateway has no
     * zone, the selector picks among all routable pods at once.
     */
    public PodState select(ServiceView view) {
        return this.placement.select(view);
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
