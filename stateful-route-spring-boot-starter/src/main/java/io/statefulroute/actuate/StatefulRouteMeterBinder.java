package io.statefulroute.actuate;

import java.util.Locale;
import java.util.function.ToLongFunction;

import com.github.benmanes.caffeine.cache.Cache;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.cache.CaffeineCacheMetrics;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.rebalance.RebalanceStats;
import io.statefulroute.core.rebalance.Rebalancer;
import io.statefulroute.core.redis.SkippedEntries;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.metrics.StatefulRouteMeters;
import org.jspecify.annotations.Nullable;

/**
 * Micrometer meters of stateful-route read from the drivers when a registry is scraped
 * (nothing is recorded on the request path):
 *
 * <ul>
 * <li>the link cache, through Micrometer's own Caffeine binder: {@code cache.size},
 * {@code cache.gets} ({@code result=hit|miss}), {@code cache.evictions}... tagged
 * {@code cache=}{@value StatefulRouteMeters#LINK_CACHE}
 * <li>{@value StatefulRouteMeters#STATE_SERVICES}
 * <li>{@value StatefulRouteMeters#SKIPPED_ENTRIES}, one per {@code kind}
 * <li>{@value StatefulRouteMeters#LINK_NOTICES}, and {@value StatefulRouteMeters#LINK_NOTICES_TRUSTED}
 * when the application follows link changes
 * <li>on a pod ({@code namespace}, {@code service}, {@code pod} tags):
 * {@value StatefulRouteMeters#POD_LOAD}, {@value StatefulRouteMeters#POD_ROUTING_STATE} (1 for
 * the current {@code state}, 0 for the others), {@value StatefulRouteMeters#POD_USERS} and, when
 * the pod declares a user capacity, {@value StatefulRouteMeters#POD_CAPACITY_USERS},
 * {@value StatefulRouteMeters#HEARTBEAT_CONSECUTIVE_FAILURES}; the heartbeat timer and failure
 * counter are registered at zero
 * <li>on a pod with a {@link Rebalancer} (same tags): {@value StatefulRouteMeters#REBALANCE_MOVES},
 * one per {@code result}, {@value StatefulRouteMeters#REBALANCE_ROUNDS} and
 * {@value StatefulRouteMeters#REBALANCE_ENABLED}
 * </ul>
 *
 * Timers and per-service gauges are recorded by
 * {@link io.statefulroute.metrics.MicrometerRouteListener}.
 */
public class StatefulRouteMeterBinder implements MeterBinder {

    private final StatefulRouteForClientDriver client;

    private final ServiceStateCache states;

    private final @Nullable StatefulRouteForServerDriver server;

    private final boolean followsLinkChanges;

    private final @Nullable Rebalancer rebalancer;

    /**
     * Creates the binder for an application whose client does not follow link changes.
     * @param client the client driver, for its link cache and state cache
     * @param server this pod's driver, or null when the application is not a pod of a
     * stateful service
     */
    public StatefulRouteMeterBinder(StatefulRouteForClientDriver client, @Nullable StatefulRouteForServerDriver server) {
        this(client, server, false);
    }

    /**
     * Creates the binder.
     * @param client the client driver, for its link cache and state cache
     * @param server this pod's driver, or null when the application is not a pod of a
     * stateful service
     * @param followsLinkChanges whether the client is meant to follow link change notices, so
     * that whether they are trusted is worth a gauge
     */
    public StatefulRouteMeterBinder(StatefulRouteForClientDriver client, @Nullable StatefulRouteForServerDriver server,
            boolean followsLinkChanges) {
        this(client, server, followsLinkChanges, null);
    }

    /**
     * Creates the binder, with the meters of a pod's rebalancing.
     * @param client the client driver, for its link cache and state cache
     * @param server this pod's driver, or null when the application is not a pod of a
     * stateful service
     * @param followsLinkChanges whether the client is meant to follow link change notices, so
     * that whether they are trusted is worth a gauge
     * @param rebalancer the pod's rebalancer, or null when it rebalances nothing (only bound
     * with a server driver, whose tags its meters carry)
     */
    public StatefulRouteMeterBinder(StatefulRouteForClientDriver client, @Nullable StatefulRouteForServerDriver server,
            boolean followsLinkChanges, @Nullable Rebalancer rebalancer) {
        this.client = client;
        this.states = client.routeInfo().states();
        this.server = server;
        this.followsLinkChanges = followsLinkChanges;
        this.rebalancer = rebalancer;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        bindCache(this.client.nativeCache(), registry);
        Gauge.builder(StatefulRouteMeters.STATE_SERVICES, this.states, (s) -> s.stats().services())
            .description("Services the pod state cache tracks")
            .register(registry);
        SkippedEntries skipped = this.states.skippedEntries();
        for (SkippedEntries.Kind kind : SkippedEntries.Kind.values()) {
            FunctionCounter.builder(StatefulRouteMeters.SKIPPED_ENTRIES, skipped, (s) -> s.count(kind))
                .tag("kind", kind.name().toLowerCase(Locale.ROOT))
                .description("Entries read from Redis and skipped as not understood (another version's, or garbage)")
                .register(registry);
        }
        // one description for both: Prometheus keeps a single HELP line per meter name
        String notices = "Link change notices received: evicted dropped a cached link, idle named a user this "
                + "gateway had not cached";
        FunctionCounter.builder(StatefulRouteMeters.LINK_NOTICES, this.client, (c) -> c.noticeStats().evicted())
            .tag("result", "evicted")
            .description(notices)
            .register(registry);
        FunctionCounter.builder(StatefulRouteMeters.LINK_NOTICES, this.client, (c) -> c.noticeStats().idle())
            .tag("result", "idle")
            .description(notices)
            .register(registry);
        if (this.followsLinkChanges) {
            // 0 also while the subscription cannot be made at all: the cache then lives on the fallback TTL
            Gauge.builder(StatefulRouteMeters.LINK_NOTICES_TRUSTED, this.client,
                    (c) -> c.isFollowingLinkChanges() ? 1 : 0)
                .description("Whether link change notices are known to arrive (1), so cached links are trusted for "
                        + "their full TTL; 0 while cached links older than the fallback TTL are re-read")
                .register(registry);
        }
        if (this.server != null) {
            bindPod(registry, this.server);
            if (this.rebalancer != null) {
                bindRebalancer(registry, podTags(this.server), this.rebalancer);
            }
        }
    }

    private static <K, V> void bindCache(Cache<K, V> cache, MeterRegistry registry) {
        new CaffeineCacheMetrics<>(cache, StatefulRouteMeters.LINK_CACHE, Tags.empty()).bindTo(registry);
    }

    private static Tags podTags(StatefulRouteForServerDriver server) {
        PodIdentity identity = server.identity();
        return Tags.of("namespace", identity.namespace(), "service", identity.service(), "pod",
                Integer.toString(identity.podIndex()));
    }

    private static void bindPod(MeterRegistry registry, StatefulRouteForServerDriver server) {
        Tags tags = podTags(server);
        Gauge.builder(StatefulRouteMeters.POD_LOAD, server, StatefulRouteForServerDriver::loadScore)
            .tags(tags)
            .description("Load score this pod publishes")
            .register(registry);
        for (RoutingState state : RoutingState.values()) {
            Gauge.builder(StatefulRouteMeters.POD_ROUTING_STATE, server, (s) -> (s.getRoutingState() == state) ? 1 : 0)
                .tags(tags.and("state", state.name()))
                .description("Routing state of this pod: 1 for the current state")
                .register(registry);
        }
        Gauge.builder(StatefulRouteMeters.POD_USERS, server, (s) -> s.heldUsers().size())
            .tags(tags)
            .description("Users this pod holds (linked to it persistently), as it publishes them")
            .register(registry);
        if (server.capacity().limitsUsers()) {
            Gauge.builder(StatefulRouteMeters.POD_CAPACITY_USERS, server, (s) -> s.capacity().maxUsers())
                .tags(tags)
                .description("Most users this pod takes: at that count gateways give it no new users")
                .register(registry);
        }
        Gauge.builder(StatefulRouteMeters.HEARTBEAT_CONSECUTIVE_FAILURES, server,
                (s) -> s.heartbeatStatus().consecutiveFailures())
            .tags(tags)
            .description("Heartbeats of this pod that failed since the last success")
            .register(registry);
        Gauge.builder(StatefulRouteMeters.POD_LEASE_LIVE, server, (s) -> s.isLeaseLive() ? 1 : 0)
            .tags(tags)
            .description("Whether this pod's lease is live (1): it owns its users and takes new ones")
            .register(registry);
        FunctionCounter.builder(StatefulRouteMeters.POD_LEASE_LAPSES, server, (s) -> s.leaseStatus().lapses())
            .tags(tags)
            .description("Times this pod's lease lapsed")
            .register(registry);
        FunctionCounter.builder(StatefulRouteMeters.POD_USERS_LOST, server, (s) -> s.leaseStatus().usersLost())
            .tags(tags)
            .description("Users this pod found linked elsewhere and reported lost")
            .register(registry);
        FunctionCounter.builder(StatefulRouteMeters.POD_LINKS_RESTORED, server, (s) -> s.leaseStatus().linksRestored())
            .tags(tags)
            .description("Links of users this pod holds that Redis had lost (a failover, a restart) and it wrote back")
            .register(registry);
        StatefulRouteMeters.registerHeartbeatMeters(registry);
    }

    private static void bindRebalancer(MeterRegistry registry, Tags tags, Rebalancer rebalancer) {
        // one description for every result: Prometheus keeps a single HELP line per meter name
        String moves = "Moves of this pod's users that rebalancing proposed, the application accepted or refused, "
                + "completed (handed off) or that failed after consent";
        bindMoves(registry, tags, rebalancer, moves, "proposed", RebalanceStats::proposed);
        bindMoves(registry, tags, rebalancer, moves, "accepted", RebalanceStats::accepted);
        bindMoves(registry, tags, rebalancer, moves, "refused", RebalanceStats::refused);
        bindMoves(registry, tags, rebalancer, moves, "completed", RebalanceStats::completed);
        bindMoves(registry, tags, rebalancer, moves, "failed", RebalanceStats::failed);
        FunctionCounter.builder(StatefulRouteMeters.REBALANCE_ROUNDS, rebalancer, (r) -> r.stats().rounds())
            .tags(tags)
            .description("Rebalancing rounds of this pod that read the service's pods")
            .register(registry);
        Gauge.builder(StatefulRouteMeters.REBALANCE_ENABLED, rebalancer, (r) -> r.isEnabled() ? 1 : 0)
            .tags(tags)
            .description("Whether this pod's rebalancing is switched on (1)")
            .register(registry);
    }

    private static void bindMoves(MeterRegistry registry, Tags tags, Rebalancer rebalancer, String description,
            String result, ToLongFunction<RebalanceStats> count) {
        FunctionCounter.builder(StatefulRouteMeters.REBALANCE_MOVES, rebalancer, (r) -> count.applyAsLong(r.stats()))
            .tags(tags.and("result", result))
            .description(description)
            .register(registry);
    }

}
