package io.statefulroute.metrics;

import java.util.Locale;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.statefulroute.core.link.RouteOutcome;

/**
 * Names of stateful-route's meters (Micrometer conventions: dot-separated, base units; a
 * Prometheus registry adds {@code _seconds}, {@code _total}...). Tags are bounded:
 * namespace, service, outcome, operation, pod index; never a uid.
 */
public final class StatefulRouteMeters {

    /** Timer of {@code computeLinkedPod} decisions; tags namespace, service, outcome. */
    public static final String ROUTING = "statefulroute.routing.decisions";

    /** Timer of Redis operations; tags operation, outcome ({@code success}, {@code error}). */
    public static final String REDIS = "statefulroute.redis.operations";

    /** Timer of this pod's heartbeats; tag outcome. */
    public static final String HEARTBEAT = "statefulroute.heartbeat";

    /** Counter of this pod's heartbeats that did not reach Redis. */
    public static final String HEARTBEAT_FAILURES = "statefulroute.heartbeat.failures";

    /** Gauge of this pod's heartbeat failures since the last success; tags namespace, service, pod. */
    public static final String HEARTBEAT_CONSECUTIVE_FAILURES = "statefulroute.heartbeat.consecutive.failures";

    /** Timer of the scheduled pod state refreshes; tag outcome. */
    public static final String STATE_REFRESH = "statefulroute.state.refresh";

    /** Gauge of the services the pod state cache tracks (at most stateful-route.state.max-services). */
    public static final String STATE_SERVICES = "statefulroute.state.cache.services";

    /** Link change notices received by this gateway; tag {@code result}: {@code evicted} or {@code idle}. */
    public static final String LINK_NOTICES = "statefulroute.link.notices";

    /**
     * Gauge, 1 while link change notices are known to arrive (cached links are trusted for their
     * full TTL), 0 while they may be missed (cached links older than the fallback TTL are re-read);
     * only on an application that follows link changes.
     */
    public static final String LINK_NOTICES_TRUSTED = "statefulroute.link.notices.trusted";

    /**
     * Function counter of entries read from Redis and skipped as not understood (another
     * version's, or garbage); tag {@code kind}: {@code unknown_routing_state},
     * {@code malformed_pod_entry}, {@code malformed_link}, {@code malformed_notice}.
     */
    public static final String SKIPPED_ENTRIES = "statefulroute.skipped.entries";

    /** Gauge of a service's alive pods; tags namespace, service. */
    public static final String SERVICE_PODS_ALIVE = "statefulroute.service.pods.alive";

    /** Gauge of a service's routable (alive and READY) pods; tags namespace, service. */
    public static final String SERVICE_PODS_ROUTABLE = "statefulroute.service.pods.routable";

    /**
     * Gauge of a service's dead pods: entries still in Redis whose heartbeat expired without
     * the pod publishing {@code SHUTDOWN} (crashed, stalled or cut off from Redis); tags
     * namespace, service.
     */
    public static final String SERVICE_PODS_DEAD = "statefulroute.service.pods.dead";

    /** Gauge of each pod's published load score, NaN while dead; tags namespace, service, pod. */
    public static final String SERVICE_POD_LOAD = "statefulroute.service.pod.load.score";

    /** Time gauge of how long ago a service's pod states were read from Redis; tags namespace, service. */
    public static final String SERVICE_STATE_AGE = "statefulroute.service.state.age";

    /** Gauge of the load score this pod publishes; tags namespace, service, pod. */
    public static final String POD_LOAD = "statefulroute.pod.load.score";

    /** Gauge, 1 while this pod's lease is live, else 0; tags namespace, service, pod. */
    public static final String POD_LEASE_LIVE = "statefulroute.pod.lease.live";

    /** Counter of this pod's lease lapses; tags namespace, service, pod. */
    public static final String POD_LEASE_LAPSES = "statefulroute.pod.lease.lapses";

    /** Gauge of the users this pod holds, as it publishes them; tags namespace, service, pod. */
    public static final String POD_USERS = "statefulroute.pod.users";

    /** Gauge of the most users this pod takes, when it declares a user capacity; tags namespace, service, pod. */
    public static final String POD_CAPACITY_USERS = "statefulroute.pod.capacity.users";

    /** Counter of users this pod reported lost; tags namespace, service, pod. */
    public static final String POD_USERS_LOST = "statefulroute.pod.users.lost";

    /** Counter of links of held users that Redis lost and this pod wrote back; tags namespace, service, pod. */
    public static final String POD_LINKS_RESTORED = "statefulroute.pod.links.restored";

    /** Gauge of this pod's routing state, 1 for the current {@code state} tag; tags namespace, service, pod. */
    public static final String POD_ROUTING_STATE = "statefulroute.pod.routing.state";

    /**
     * Function counter of this pod's rebalancing moves; tags namespace, service, pod and
     * {@code result}: {@code proposed}, {@code accepted}, {@code refused} (by the application's
     * consent), {@code completed} (user handed off), {@code failed} (consented, did not happen).
     */
    public static final String REBALANCE_MOVES = "statefulroute.rebalance.moves";

    /** Function counter of this pod's rebalancing rounds that read the service's pods; tags namespace, service, pod. */
    public static final String REBALANCE_ROUNDS = "statefulroute.rebalance.rounds";

    /** Gauge, 1 while this pod's rebalancing is switched on, else 0; tags namespace, service, pod. */
    public static final String REBALANCE_ENABLED = "statefulroute.rebalance.enabled";

    /**
     * Value of the {@code cache} tag of the link cache's {@code cache.*} meters (Micrometer's
     * Caffeine binder: {@code cache.size}, {@code cache.gets}, {@code cache.evictions}...).
     */
    public static final String LINK_CACHE = "statefulroute.links";

    /**
     * Value of the {@code namespace} and {@code service} tags of routing decisions about a
     * service the state cache does not track (unknown, or beyond its cap).
     */
    public static final String UNTRACKED = "_untracked";

    /** Tag value of a successful operation. */
    public static final String SUCCESS = "success";

    /** Tag value of a failed operation. */
    public static final String ERROR = "error";

    private static final String[] OUTCOME_TAGS = new String[RouteOutcome.values().length];

    static {
        for (RouteOutcome outcome : RouteOutcome.values()) {
            OUTCOME_TAGS[outcome.ordinal()] = outcome.name().toLowerCase(Locale.ROOT);
        }
    }

    private StatefulRouteMeters() {
    }

    /** The {@code outcome} tag value of a routing outcome, e.g. {@code cache_hit}. */
    public static String outcome(RouteOutcome outcome) {
        return OUTCOME_TAGS[outcome.ordinal()];
    }

    static Timer heartbeatTimer(MeterRegistry registry, String outcome) {
        return Timer.builder(HEARTBEAT)
            .tag("outcome", outcome)
            .description("Heartbeats of this pod")
            .register(registry);
    }

    static Counter heartbeatFailures(MeterRegistry registry) {
        return Counter.builder(HEARTBEAT_FAILURES)
            .description("Heartbeats of this pod that did not reach Redis")
            .register(registry);
    }

    /** Registers this pod's heartbeat meters, so they are scraped (at zero) before the first failure. */
    public static void registerHeartbeatMeters(MeterRegistry registry) {
        heartbeatTimer(registry, SUCCESS);
        heartbeatTimer(registry, ERROR);
        heartbeatFailures(registry);
    }

}
