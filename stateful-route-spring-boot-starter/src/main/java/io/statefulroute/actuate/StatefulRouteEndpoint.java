package io.statefulroute.actuate;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.link.LinkCacheStats;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.server.HeartbeatStatus;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.OperationResponseBody;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

/**
 * Actuator endpoint {@code statefulroute}: what this application knows about stateful
 * routing, and the operator's handle to drain this pod.
 *
 * <ul>
 * <li>{@code GET /actuator/statefulroute}: this pod (when the application is a pod of a
 * stateful service), every service the state cache tracks, with its pods, and the cache
 * statistics.
 * <li>{@code GET /actuator/statefulroute/{service}}: one service of the local namespace,
 * read from Redis if not known yet; 404 when it has no pod entry. Reading an unknown service
 * leaves nothing behind but a short-lived, size-bounded cache entry (see
 * {@link ServiceStateCache}), so any number of names costs bounded memory and at most one
 * Redis read per name and refresh period.
 * <li>{@code POST /actuator/statefulroute} with {@code {"routingState": "DENY_NEW_CALL"}}
 * (drain), {@code {"routingState": "READY"}} (undrain) and/or {@code {"loadState": 42}}.
 * </ul>
 *
 * Like every actuator endpoint it is exposed over HTTP only when included in
 * {@code management.endpoints.web.exposure.include}; since the write operation drains the
 * pod, expose it on an internal management port or behind Spring Security (e.g.
 * {@code EndpointRequest.to(StatefulRouteEndpoint.class)} requiring an operator role), or
 * limit it to reading with {@code management.endpoint.statefulroute.access=read-only}.
 */
@Endpoint(id = "statefulroute")
public class StatefulRouteEndpoint {

    private final StatefulRouteForClientDriver client;

    private final ServiceStateCache states;

    private final @Nullable StatefulRouteForServerDriver server;

    private final String namespace;

    /**
     * Creates the endpoint.
     * @param client the client driver, for its link cache statistics
     * @param server this pod's driver, or null when the application is not a pod of a
     * stateful service
     */
    public StatefulRouteEndpoint(StatefulRouteForClientDriver client, @Nullable StatefulRouteForServerDriver server) {
        this.client = client;
        this.states = client.routeInfo().states();
        this.server = server;
        this.namespace = client.options().localNamespace();
    }

    /** This pod, every known service, and the cache statistics. */
    @ReadOperation
    public StatefulRouteDescriptor route() {
        List<ServiceDescriptor> services = this.states.views()
            .stream()
            .sorted(Comparator.comparing(ServiceView::namespace).thenComparing(ServiceView::service))
            .map(ServiceDescriptor::of)
            .toList();
        ServiceStateCache.Stats stats = this.states.stats();
        return new StatefulRouteDescriptor(this.namespace, pod(), services, LinkCacheDescriptor.of(this.client.cacheStats()),
                new StateCacheDescriptor(stats.services(), this.states.maxServices(), this.states.untrackedCount(),
                        stats.hits(), stats.misses(), stats.refreshes(), stats.refreshFailures(), stats.lastRefresh(),
                        stats.lastRefreshDuration().toMillis()));
    }

    /**
     * One service of the local namespace, loaded from Redis if this application did not know
     * it yet; null (404) when it has no pod entry and is not kept in view.
     */
    @ReadOperation
    public @Nullable ServiceDescriptor service(@Selector String service) {
        ServiceView view;
        try {
            view = this.states.view(this.namespace, service);
        }
        catch (InvalidRouteArgumentException ex) {
            throw new InvalidEndpointRequestException(ex.getMessage(), "invalid service name");
        }
        boolean known = !view.pods().isEmpty() || this.states.isTracked(this.namespace, service);
        return known ? ServiceDescriptor.of(view) : null;
    }

    /**
     * Sets this pod's routing state (drain with {@code DENY_NEW_CALL}, undrain with
     * {@code READY}) and/or its load state; both are published at once. {@code SHUTDOWN} is
     * refused (400): only the pod's own stop publishes it, after its drain.
     * @return this pod after the change
     */
    @WriteOperation
    public PodDescriptor updatePod(@Nullable RoutingState routingState, @Nullable Integer loadState) {
        StatefulRouteForServerDriver server = this.server;
        if (server == null) {
            throw new InvalidEndpointRequestException("This application is not a pod of a stateful service",
                    "stateful-route.server.service is not set");
        }
        if (routingState == null && loadState == null) {
            throw new InvalidEndpointRequestException("Set routingState and/or loadState", "nothing to update");
        }
        if (routingState != null && !routingState.servesLinkedUsers()) {
            // SHUTDOWN from outside would relink every user of a pod that is still alive
            throw new InvalidEndpointRequestException("routingState must be READY or DENY_NEW_CALL; a pod publishes "
                    + routingState + " only itself, when it stops", "routingState " + routingState + " not accepted");
        }
        if (loadState != null) {
            if (loadState < 0) {
                throw new InvalidEndpointRequestException("loadState must be >= 0", "negative loadState");
            }
            server.setLoadState(loadState);
        }
        if (routingState != null) {
            server.setRoutingState(routingState);
        }
        else {
            server.heartbeatAsync();
        }
        return PodDescriptor.of(server);
    }

    private @Nullable PodDescriptor pod() {
        return (this.server != null) ? PodDescriptor.of(this.server) : null;
    }

    /**
     * Everything the endpoint reports.
     * @param namespace the local namespace
     * @param pod this pod, null when the application is not a pod of a stateful service
     * @param services every service the state cache tracks
     * @param linkCache statistics of the client's link cache
     * @param stateCache statistics of the state cache
     */
    public record StatefulRouteDescriptor(String namespace, @Nullable PodDescriptor pod,
            List<ServiceDescriptor> services, LinkCacheDescriptor linkCache,
            StateCacheDescriptor stateCache) implements OperationResponseBody {
    }

    /**
     * This pod, as it publishes itself.
     * @param namespace the namespace it publishes to
     * @param service its stateful service
     * @param podIndex its ordinal
     * @param loadState the application's load measure
     * @param loadScore the weighted load it publishes
     * @param routingState what it accepts
     * @param address where it tells gateways to reach it, null when it advertises none
     * @param heartbeat outcome of its heartbeats
     */
    public record PodDescriptor(String namespace, String service, int podIndex, int loadState, double loadScore,
            RoutingState routingState, @Nullable PodAddress address, HeartbeatDescriptor heartbeat)
            implements OperationResponseBody {

        static PodDescriptor of(StatefulRouteForServerDriver server) {
            PodIdentity identity = server.identity();
            return new PodDescriptor(identity.namespace(), identity.service(), identity.podIndex(),
                    server.getLoadState(), server.loadScore(), server.getRoutingState(),
                    server.getAdvertisedAddress(), HeartbeatDescriptor.of(server.heartbeatStatus()));
        }

    }

    /**
     * Outcome of this pod's heartbeats.
     * @param healthy whether the last heartbeat reached Redis
     * @param lastSuccess when a heartbeat last reached Redis
     * @param lastFailure when a heartbeat last failed
     * @param lastError message of the last failure
     * @param consecutiveFailures failures since the last success
     */
    public record HeartbeatDescriptor(boolean healthy, @Nullable Instant lastSuccess, @Nullable Instant lastFailure,
            @Nullable String lastError, int consecutiveFailures) {

        static HeartbeatDescriptor of(HeartbeatStatus status) {
            return new HeartbeatDescriptor(status.healthy(), status.lastSuccess(), status.lastFailure(),
                    status.lastError(), status.consecutiveFailures());
        }

    }

    /**
     * One service as last read from Redis.
     * @param namespace its namespace
     * @param service its name
     * @param ageMillis how long ago it was read
     * @param pods every pod entry still in Redis
     */
    public record ServiceDescriptor(String namespace, String service, long ageMillis,
            List<PodStateDescriptor> pods) implements OperationResponseBody {

        static ServiceDescriptor of(ServiceView view) {
            long now = view.serverNowMillis();
            List<PodStateDescriptor> pods = view.pods()
                .stream()
                .map((pod) -> PodStateDescriptor.of(view, pod, now))
                .toList();
            return new ServiceDescriptor(view.namespace(), view.service(), view.ageMillis(), pods);
        }

    }

    /**
     * One pod's published state.
     * @param podIndex its ordinal
     * @param loadScore its published load score
     * @param routingState what it accepts
     * @param alive whether its last heartbeat is younger than the pod expiry
     * @param routable whether it takes new users
     * @param ageMillis age of its last heartbeat, on Redis' clock
     * @param address where it serves its users, null when it advertises none
     */
    public record PodStateDescriptor(int podIndex, double loadScore, RoutingState routingState, boolean alive,
            boolean routable, long ageMillis, @Nullable PodAddress address) {

        static PodStateDescriptor of(ServiceView view, PodState pod, long now) {
            return new PodStateDescriptor(pod.podIndex(), pod.loadScore(), pod.routingState(),
                    view.isAlive(pod.podIndex()), view.isRoutable(pod.podIndex()), now - pod.updateTimeMillis(),
                    pod.address());
        }

    }

    /**
     * Statistics of the client's local link cache.
     * @param size links cached now (approximate)
     * @param hits lookups answered from the cache
     * @param misses lookups that found nothing
     * @param evictions links dropped for size or expiry
     * @param hitRate share of lookups answered from the cache
     */
    public record LinkCacheDescriptor(long size, long hits, long misses, long evictions, double hitRate) {

        static LinkCacheDescriptor of(LinkCacheStats stats) {
            return new LinkCacheDescriptor(stats.size(), stats.hits(), stats.misses(), stats.evictions(),
                    stats.hitRate());
        }

    }

    /**
     * Statistics of the pod state cache.
     * @param services services tracked (kept, refreshed and reported)
     * @param maxServices most services tracked at once
     * @param untracked services remembered briefly without being tracked (e.g. unknown names)
     * @param hits lookups answered from memory
     * @param misses lookups that loaded a service from Redis
     * @param refreshes completed refresh cycles
     * @param refreshFailures refresh cycles in which some service failed
     * @param lastRefresh end of the last complete refresh
     * @param lastRefreshMillis how long the last refresh took
     */
    public record StateCacheDescriptor(int services, int maxServices, long untracked, long hits, long misses, long refreshes, long refreshFailures,
            @Nullable Instant lastRefresh, long lastRefreshMillis) {
    }

}
