package io.statefulroute.cloud.loadbalancer;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.statefulroute.core.RouteArguments;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;

import reactor.core.publisher.Mono;

/**
 * The instances an existing discovery client lists for a service, by the pod each stands for:
 * the pod index in a metadata entry, else {@code n} when the host name's first label is
 * {@code <service>-<n>}, as StatefulSet pods of the service's name are called ({@code lobby-2},
 * {@code lobby-2.lobby.prod.svc}). Instances that name no pod are ignored. The list is fetched again on the first use after
 * the refresh period, in the background: until it arrives, and when a fetch fails, the last
 * list answers.
 */
public final class DiscoveredPodInstances {

    private static final Logger logger = LoggerFactory.getLogger(DiscoveredPodInstances.class);

    private final ServiceInstanceListSupplier discovery;

    private final String podIndexMetadata;

    private final Pattern statefulSetHost;

    /** One entry, the service's instances by pod index: Caffeine brings the refresh in the background. */
    private final AsyncLoadingCache<String, Map<Integer, ServiceInstance>> byPod;

    /**
     * @param discovery the discovery client's instances of the service (e.g. Spring Cloud's
     * {@code DiscoveryClientServiceInstanceListSupplier})
     * @param podIndexMetadata the metadata key holding an instance's pod index
     * @param refreshPeriod how long a fetched list is used before it is fetched again
     */
    public DiscoveredPodInstances(ServiceInstanceListSupplier discovery, String podIndexMetadata,
            Duration refreshPeriod) {
        this.discovery = RouteArguments.requireNonNull("discovery", discovery);
        this.podIndexMetadata = RouteArguments.requireNonNull("podIndexMetadata", podIndexMetadata);
        this.statefulSetHost = statefulSetHost(discovery.getServiceId());
        this.byPod = Caffeine.newBuilder()
            .refreshAfterWrite(RouteArguments.requireNonNull("refreshPeriod", refreshPeriod))
            .buildAsync((service, executor) -> fetch());
    }

    /** The instances by pod index; empty when the discovery client lists none (or failed before any list). */
    Mono<Map<Integer, ServiceInstance>> byPodIndex() {
        CompletableFuture<Map<Integer, ServiceInstance>> instances = this.byPod.get(this.discovery.getServiceId());
        // Caffeine keeps handing out the last list while it refreshes: a completed list, as
        // almost every request gets, needs no error handling on its path
        if (instances.isDone() && !instances.isCompletedExceptionally()) {
            return Mono.just(instances.join());
        }
        return StatefulRouteLoadBalancer.mono(instances).onErrorResume((ex) -> Mono.just(Map.of()));
    }

    private CompletableFuture<Map<Integer, ServiceInstance>> fetch() {
        return this.discovery.get().next().defaultIfEmpty(List.of()).map(this::byPodIndex).toFuture();
    }

    private Map<Integer, ServiceInstance> byPodIndex(List<ServiceInstance> instances) {
        Map<Integer, ServiceInstance> byPod = new HashMap<>();
        for (ServiceInstance instance : instances) {
            OptionalInt pod = podIndexOf(instance, this.podIndexMetadata, this.statefulSetHost);
            if (pod.isPresent() && byPod.putIfAbsent(pod.getAsInt(), instance) != null) {
                logger.warn("Discovery lists two instances of pod {} of {}; using {}", pod.getAsInt(),
                        this.discovery.getServiceId(), byPod.get(pod.getAsInt()).getUri());
            }
        }
        return Map.copyOf(byPod);
    }

    /** Host names of the service's StatefulSet pods: the pod index is group 1. */
    static Pattern statefulSetHost(String service) {
        return Pattern.compile(Pattern.quote(service) + "-(\\d{1,9})(?:\\..*)?", Pattern.CASE_INSENSITIVE);
    }

    /** The pod the instance stands for, from its metadata, else from a StatefulSet pod's host name. */
    static OptionalInt podIndexOf(ServiceInstance instance, String podIndexMetadata, Pattern statefulSetHost) {
        Map<String, String> metadata = instance.getMetadata();
        String value = (metadata != null) ? metadata.get(podIndexMetadata) : null;
        if (value == null && instance.getHost() != null) {
            Matcher host = statefulSetHost.matcher(instance.getHost());
            value = host.matches() ? host.group(1) : null;
        }
        if (value == null) {
            return OptionalInt.empty();
        }
        try {
            int pod = Integer.parseInt(value.trim());
            return (pod >= 0) ? OptionalInt.of(pod) : OptionalInt.empty();
        }
        catch (NumberFormatException ex) {
            return OptionalInt.empty();
        }
    }

}
