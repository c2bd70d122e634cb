package io.statefulroute.cloud.loadbalancer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;

import org.springframework.cloud.client.DefaultServiceInstance;
import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The instances of a load-balanced service are the pods of the stateful service of the same
 * name that are alive, serve their users ({@code READY} or {@code DENY_NEW_CALL}) and
 * advertise an address: discovery from the pods' own heartbeats. Read from the state cache,
 * so it never waits for Redis once the service is loaded.
 *
 * <p>{@linkplain #withDiscoveredInstances With the instances of an existing discovery client},
 * a pod that client lists is reached at its instance instead of its advertised address; the
 * heartbeats still say which pods are alive.
 *
 * <p>Each instance's metadata holds the pod's advertised (or discovered) metadata plus
 * {@value #NAMESPACE_METADATA}, {@value #POD_INDEX_METADATA} and {@value #ROUTING_STATE_METADATA}.
 */
public final class StatefulRouteServiceInstanceListSupplier implements ServiceInstanceListSupplier {

    /** Metadata key of an instance's namespace. */
    public static final String NAMESPACE_METADATA = "stateful-route.namespace";

    /** Metadata key of an instance's pod index. */
    public static final String POD_INDEX_METADATA = "stateful-route.pod-index";

    /** Metadata key of an instance's routing state when it was listed. */
    public static final String ROUTING_STATE_METADATA = "stateful-route.routing-state";

    private final String namespace;

    private final String service;

    private final ServiceStateCache states;

    /** The discovery client's instances by pod index, or null to reach pods at their advertised addresses. */
    private final DiscoveredPodInstances discovered;

    /**
     * Instances built for the last view and discovered instances seen: both are immutable,
     * so the instances stay valid with them.
     */
    private volatile Snapshot snapshot = new Snapshot(null, Map.of(), Map.of());

    /**
     * @param namespace the namespace of the pods
     * @param service the stateful service, which is also the load-balanced service id
     */
    public StatefulRouteServiceInstanceListSupplier(String namespace, String service, ServiceStateCache states) {
        this(namespace, service, states, null);
    }

    private StatefulRouteServiceInstanceListSupplier(String namespace, String service, ServiceStateCache states,
            DiscoveredPodInstances discovered) {
        this.namespace = RouteArguments.requireId("namespace", namespace);
        this.service = RouteArguments.requireId("service", service);
        this.states = RouteArguments.requireNonNull("states", states);
        this.discovered = discovered;
    }

    /**
     * A supplier that reaches each pod the discovery client lists at that instance, and any
     * other pod at its advertised address.
     * @param discovered the discovery client's instances of this service, by pod index
     */
    public StatefulRouteServiceInstanceListSupplier withDiscoveredInstances(DiscoveredPodInstances discovered) {
        return new StatefulRouteServiceInstanceListSupplier(this.namespace, this.service, this.states,
                RouteArguments.requireNonNull("discovered", discovered));
    }

    @Override
    public String getServiceId() {
        return this.service;
    }

    @Override
    public Flux<List<ServiceInstance>> get() {
        Mono<ServiceView> view = Mono.fromFuture(() -> this.states.viewAsync(this.namespace, this.service), true);
        if (this.discovered == null) {
            return view.map((current) -> instances(current, Map.of())).flux();
        }
        return view.zipWith(this.discovered.byPodIndex(), this::instances).flux();
    }

    private List<ServiceInstance> instances(ServiceView view, Map<Integer, ServiceInstance> discovered) {
        Map<Integer, ServiceInstance> byPod = snapshotOf(view, discovered).instances();
        List<ServiceInstance> instances = new ArrayList<>(byPod.size());
        for (PodState pod : view.alivePods()) {
            ServiceInstance instance = byPod.get(pod.podIndex());
            if (instance != null && pod.routingState().servesLinkedUsers()) {
                instances.add(instance);
            }
        }
        return Collections.unmodifiableList(instances);
    }

    /**
     * The instance of one pod, from the cached view, else from a fresh read of the service (a
     * pod newer than the view).
     * @return the instance, or an error with {@link PodAddressUnknownException} when the pod
     * advertises no address, {@link PodUnavailableException} when it is dead (its users wait
     * for its lease to lapse)
     */
    public Mono<ServiceInstance> instance(int podIndex) {
        ServiceView view = this.states.cachedView(this.namespace, this.service);
        if (view != null && view.pod(podIndex) != null && !view.isAvailable(podIndex)) {
            // a dead pod keeps its users until its lease lapsed: nothing answers at its address
            return Mono.error(new PodUnavailableException(this.namespace, this.service, podIndex));
        }
        if (this.discovered == null) {
            return instance(view, podIndex, Map.of());
        }
        return this.discovered.byPodIndex().flatMap((discovered) -> instance(view, podIndex, discovered));
    }

    private Mono<ServiceInstance> instance(ServiceView view, int podIndex, Map<Integer, ServiceInstance> discovered) {
        ServiceInstance instance = (view != null) ? snapshotOf(view, discovered).instances().get(podIndex) : null;
        if (instance != null) {
            return Mono.just(instance);
        }
        if (view != null && view.pod(podIndex) != null) {
            // the view knows the pod and its entry has no address: a re-read on every request
            // would not find one sooner than the state refresh does
            return Mono.error(new PodAddressUnknownException(this.namespace, this.service, podIndex));
        }
        CompletableFuture<ServiceView> fresh = this.states.reloadAsync(this.namespace, this.service);
        return StatefulRouteLoadBalancer.mono(fresh).flatMap((reloaded) -> {
            ServiceInstance reread = snapshotOf(reloaded, discovered).instances().get(podIndex);
            return (reread != null) ? Mono.just(reread)
                    : Mono.error(new PodAddressUnknownException(this.namespace, this.service, podIndex));
        });
    }

    private Snapshot snapshotOf(ServiceView view, Map<Integer, ServiceInstance> discovered) {
        Snapshot current = this.snapshot;
        if (current.view() == view && current.discovered() == discovered) {
            return current;
        }
        Map<Integer, ServiceInstance> instances = new HashMap<>();
        for (PodState pod : view.pods()) {
            ServiceInstance found = discovered.get(pod.podIndex());
            if (found != null) {
                instances.put(pod.podIndex(), toInstance(pod, found));
            }
            else if (pod.address() != null) {
                instances.put(pod.podIndex(), toInstance(pod));
            }
        }
        Snapshot built = new Snapshot(view, discovered, instances);
        this.snapshot = built;
        return built;
    }

    private ServiceInstance toInstance(PodState pod) {
        PodAddress address = pod.address();
        boolean secure = "https".equals(address.scheme()) || "wss".equals(address.scheme());
        return new DefaultServiceInstance(this.service + "-" + pod.podIndex(), this.service, address.host(),
                address.port(), secure, metadata(pod, address.metadata()));
    }

    private ServiceInstance toInstance(PodState pod, ServiceInstance discovered) {
        String id = (discovered.getInstanceId() != null) ? discovered.getInstanceId()
                : this.service + "-" + pod.podIndex();
        return new DefaultServiceInstance(id, this.service, discovered.getHost(),
                discovered.getPort(), discovered.isSecure(), metadata(pod, discovered.getMetadata()));
    }

    private Map<String, String> metadata(PodState pod, Map<String, String> own) {
        Map<String, String> metadata = (own != null) ? new HashMap<>(own) : new HashMap<>();
        metadata.put(NAMESPACE_METADATA, this.namespace);
        metadata.put(POD_INDEX_METADATA, Integer.toString(pod.podIndex()));
        metadata.put(ROUTING_STATE_METADATA, pod.routingState().name());
        return Collections.unmodifiableMap(metadata);
    }

    private record Snapshot(ServiceView view, Map<Integer, ServiceInstance> discovered,
            Map<Integer, ServiceInstance> instances) {
    }

}
