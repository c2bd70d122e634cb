package io.statefulroute.actuate;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.link.LinkCacheStats;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.rebalance.RebalanceOptions;
import io.statefulroute.core.rebalance.RebalanceRound;
import io.statefulroute.core.rebalance.RebalanceStats;
import io.statefulroute.core.rebalance.Rebalancer;
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
 * routing, and the operator's handle to drain this pod and switch its rebalancing.
 *
 * <ul>
 * <li>{@code GET /actuator/statefulroute}: this pod (when the application is a pod of a
 * stateful service) with its rebalancing, every service the state cache tracks, with its pods,
 * and the cache statistics.
 * <li>{@code GET /actuator/statefulroute/{service}}: one service of the local namespace,
 * read from Redis if not known yet; 404 when it has no pod entry. Reading an unknown service
 * leaves nothing behind but a short-lived, size-bounded cache entry (see
 * {@link ServiceStateCache}), so any number of names costs bounded memory and at most one
 * Redis read per name and refresh period.
 * <li>{@code POST /actuator/statefulroute} with {@code {"routingState": "DENY_NEW_CALL"}}
 * (drain), {@code {"routingState": "READY"}} (undrain), {@code {"loadState": 42}} and/or
 * {@code {"rebalancing": false}} (switch rebalancing off; {@code true} on again).
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

    private final @Nullable Rebalancer rebalancer;

    private final String namespace;

    /**
     * Creates the endpoint of an application that rebalances nothing.
     * @param client the client driver, for its link cache statistics
     * @param server this pod's driver, or null when the application is not a pod of a
     * stateful service
     */
    public StatefulRouteEndpoint(StatefulRouteForClientDriver client, @Nullable StatefulRouteForServerDriver server) {
        this(client, server, null);
    }

    /**
     * Creates the endpoint.
     * @param client the client driver, for its link cache statistics
     * @param server this pod's driver, or null when the application is not a pod of a
     * stateful service
     * @param rebalancer the pod's rebalancer, or null when it rebalances nothing
     */
    public StatefulRouteEndpoint(StatefulRouteForClientDriver client, @Nullable StatefulRouteForServerDriver server,
            @Nullable Rebalancer rebalancer) {
        this.client = client;
        this.states = client.routeInfo().states();
        this.server = server;
        this.rebalancer = rebalancer;
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
     * {@code READY}) and/or its load state, both published at once, and/or switches its
     * rebalancing off ({@code false}) or on ({@code true}); off, a round under way stops
     * before its next move. {@code SHUTDOWN} is refused (400): only the pod's own stop
     * publishes it, after its drain.
     * @return this pod after the change
     */
    @WriteOperation
    public PodDescriptor updatePod(@Nullable RoutingState routingState, @Nullable Integer loadState,
            @Nullable Boolean rebalancing) {
        StatefulRouteForServerDriver server = this.server;
        if (server == null) {
            throw new InvalidEndpointRequestException("This application is not a pod of a stateful service",
                    "stateful-route.server.service is not set");
        }
        if (routingState == null && loadState == null && rebalancing == null) {
            throw new InvalidEndpointRequestException("Set routingState, loadState and/or rebalancing",
                    "nothing to update");
        }
        if (routingState != null && !routingState.servesLinkedUsers()) {
            // SHUTDOWN from outside would relink every user of a pod that is still alive
            throw new InvalidEndpointRequestException("routingState must be READY or DENY_NEW_CALL; a pod publishes "
                    + routingState + " only itself, when it stops", "routingState " + routingState + " not accepted");
        }
        if (loadState != null && loadState < 0) {
            throw new InvalidEndpointRequestException("loadState must be >= 0", "negative loadState");
        }
        if (rebalancing != null) {
            Rebalancer rebalancer = this.rebalancer;
            if (rebalancer == null) {
                throw new InvalidEndpointRequestException("This pod has no rebalancer to switch "
                        + "(stateful-route.server.rebalance.enabled is false)", "no rebalancer");
            }
            // checked after every other argument, so that a refused request changes nothing
            rebalancer.setEnabled(rebalancing);
        }
        if (loadState != null) {
            server.setLoadState(loadState);
        }
        if (routingState != null) {
            server.setRoutingState(routingState);
        }
        else if (loadState != null) {
            server.heartbeatAsync();
        }
        return PodDescriptor.of(server, this.rebalancer);
    }

    /**
     * {@link #updatePod(RoutingState, Integer, Boolean)} leaving rebalancing as it is.
     * @return this pod after the change
     */
    public PodDescriptor updatePod(@Nullable RoutingState routingState, @Nullable Integer loadState) {
        return updatePod(routingState, loadState, null);
    }

    private @Nullable PodDescriptor pod() {
        return (this.server != null) ? PodDescriptor.of(this.server, this.rebalancer) : null;
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
     * @param rebalance its rebalancing, null when it rebalances nothing
     */
    public record PodDescriptor(String namespace, String service, int podIndex, int loadState, double loadScore,
            RoutingState routingState, @Nullable PodAddress address, HeartbeatDescriptor heartbeat,
            @Nullable RebalanceDescriptor rebalance) implements OperationResponseBody {

        static PodDescriptor of(StatefulRouteForServerDriver server, @Nullable Rebalancer rebalancer) {
            PodIdentity identity = server.identity();
            return new PodDescriptor(identity.namespace(), identity.service(), identity.podIndex(),
                    server.getLoadState(), server.loadScore(), server.getRoutingState(),
                    server.getAdvertisedAddress(), HeartbeatDescriptor.of(server.heartbeatStatus()),
                    (rebalancer != null) ? RebalanceDescriptor.of(rebalancer) : null);
        }

    }

    /**
     * This pod's rebalancing.
     * @param enabled whether its rounds run (switched on)
     * @param consent whether the application consents to moves (a MoveConsent bean); without,
     * rounds only propose
     * @param options how its moves are paced
     * @param stats what its rounds did so far
     * @param lastRound the last round that ran while switched on, null before the first
     */
    public record RebalanceDescriptor(boolean enabled, boolean consent, RebalanceOptionsDescriptor options,
            RebalanceStatsDescriptor stats, @Nullable RebalanceRoundDescriptor lastRound) {

        static RebalanceDescriptor of(Rebalancer rebalancer) {
            RebalanceRound lastRound = rebalancer.lastRound();
            return new RebalanceDescriptor(rebalancer.isEnabled(), rebalancer.hasConsent(),
                    RebalanceOptionsDescriptor.of(rebalancer.options()), RebalanceStatsDescriptor.of(rebalancer.stats()),
                    (lastRound != null) ? RebalanceRoundDescriptor.of(lastRound) : null);
        }

    }

    /**
     * How a pod's rebalancing paces its moves.
     * @param intervalMillis time between the end of one round and the start of the next
     * @param tolerance how far above the mean this pod may be before it sheds users, as a share
     * of the mean
     * @param maxShare largest share of this pod's users moved in one round
     * @param maxMovesPerSecond most hand-offs per second
     */
    public record RebalanceOptionsDescriptor(long intervalMillis, double tolerance, double maxShare,
            int maxMovesPerSecond) {

        static RebalanceOptionsDescriptor of(RebalanceOptions options) {
            return new RebalanceOptionsDescriptor(options.interval().toMillis(), options.tolerance(),
                    options.maxShare(), options.maxMovesPerSecond());
        }

    }

    /**
     * What a pod's rebalancing did since the pod started.
     * @param rounds rounds that read the service's pods
     * @param proposed moves proposed (a user counted in every round that proposes it)
     * @param accepted moves the application consented to
     * @param refused moves the application refused
     * @param completed users handed off to their target pod
     * @param failed consented moves that did not happen
     */
    public record RebalanceStatsDescriptor(long rounds, long proposed, long accepted, long refused, long completed,
            long failed) {

        static RebalanceStatsDescriptor of(RebalanceStats stats) {
            return new RebalanceStatsDescriptor(stats.rounds(), stats.proposed(), stats.accepted(), stats.refused(),
                    stats.completed(), stats.failed());
        }

    }

    /**
     * One rebalancing round.
     * @param startedAt when it began
     * @param decision what it found: {@code DISABLED}, {@code NOT_READY}, {@code NO_VIEW},
     * {@code NO_PEERS}, {@code BALANCED}, {@code NO_ROOM} or {@code PROPOSED}
     * @param users users this pod held when it began
     * @param mean mean user count of the routable pods that publish one, this pod included;
     * null when it read none
     * @param pods how many pods that mean is over
     * @param proposed moves proposed in all
     * @param proposedByTarget moves proposed, by target pod index, neediest first
     * @param accepted moves the application consented to
     * @param refused moves the application refused
     * @param moved users handed off to their target
     * @param failed consented moves that did not happen
     * @param tookMillis how long it took, pacing included
     */
    public record RebalanceRoundDescriptor(Instant startedAt, RebalanceRound.Decision decision, int users,
            @Nullable Double mean, int pods, int proposed, Map<Integer, Integer> proposedByTarget, int accepted,
            int refused, int moved, int failed, long tookMillis) {

        static RebalanceRoundDescriptor of(RebalanceRound round) {
            // NaN is no JSON number
            Double mean = Double.isNaN(round.mean()) ? null : round.mean();
            return new RebalanceRoundDescriptor(round.startedAt(), round.decision(), round.users(), mean, round.pods(),
                    round.proposedMoves(), round.proposed(), round.accepted(), round.refused(), round.moved(),
                    round.failed(), round.took().toMillis());
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
