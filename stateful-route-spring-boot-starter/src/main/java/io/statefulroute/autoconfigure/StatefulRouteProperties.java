package io.statefulroute.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.link.ClientOptions.CacheExpiry;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;
import org.springframework.validation.annotation.Validated;

/**
 * Configuration properties of stateful-route, under {@code stateful-route.*}.
 *
 * <p>The properties validate themselves when bound (Spring Boot applies a properties
 * object that is a {@link Validator} to itself), so an invalid value fails startup with a
 * binding error naming the property, without needing a Bean Validation provider.
 */
@Validated
@ConfigurationProperties("stateful-route")
public class StatefulRouteProperties implements Validator {

    /**
     * Namespace this application runs in; the only one its clients create links in and
     * the one its pod publishes to.
     */
    private String namespace = "default";

    /**
     * First segment of every Redis key, so that several applications can share one Redis.
     */
    private String keyPrefix = "sr";

    /**
     * Longest a Redis call may take before it fails.
     */
    private Duration commandTimeout = Duration.ofSeconds(2);

    /**
     * How a new user's pod is chosen among the routable pods.
     */
    private PodSelectionStrategy selectionStrategy = PodSelectionStrategy.LOAD_AWARE;

    /**
     * Zone this application runs in: its clients give new users to routable pods of this zone
     * first, and its pod advertises it (metadata "zone") unless the advertised metadata sets
     * one. When not set, spring.cloud.loadbalancer.zone.
     */
    private String zone;

    private final ZonePreference zonePreference = new ZonePreference();

    private final Link link = new Link();

    private final Cache cache = new Cache();

    private final State state = new State();

    private final Server server = new Server();

    private final Scheduling scheduling = new Scheduling();

    private final Tracing tracing = new Tracing();

    private final Analyzer analyzer = new Analyzer();

    public String getNamespace() {
        return this.namespace;
    }

    public void setNamespace(String namespace) {
        this.namespace = namespace;
    }

    public String getKeyPrefix() {
        return this.keyPrefix;
    }

    public void setKeyPrefix(String keyPrefix) {
        this.keyPrefix = keyPrefix;
    }

    public Duration getCommandTimeout() {
        return this.commandTimeout;
    }

    public void setCommandTimeout(Duration commandTimeout) {
        this.commandTimeout = commandTimeout;
    }


    public PodSelectionStrategy getSelectionStrategy() {
        return this.selectionStrategy;
    }

    public void setSelectionStrategy(PodSelectionStrategy selectionStrategy) {
        this.selectionStrategy = selectionStrategy;
    }

    public String getZone() {
        return this.zone;
    }

    public void setZone(String zone) {
        this.zone = zone;
    }

    public ZonePreference getZonePreference() {
        return this.zonePreference;
    }

    public Link getLink() {
        return this.link;
    }

    public Cache getCache() {
        return this.cache;
    }

    public State getState() {
        return this.state;
    }

    public Server getServer() {
        return this.server;
    }

    public Scheduling getScheduling() {
        return this.scheduling;
    }

    public Tracing getTracing() {
        return this.tracing;
    }

    public Analyzer getAnalyzer() {
        return this.analyzer;
    }

    @Override
    public boolean supports(Class<?> type) {
        return StatefulRouteProperties.class.isAssignableFrom(type);
    }

    @Override
    public void validate(Object target, Errors errors) {
        StatefulRouteProperties properties = (StatefulRouteProperties) target;
        requireText(errors, "namespace", properties.namespace);
        requireText(errors, "keyPrefix", properties.keyPrefix);
        requirePositive(errors, "commandTimeout", properties.commandTimeout);
        if (properties.selectionStrategy == null) {
            errors.rejectValue("selectionStrategy", "required", "must be set");
        }
        Double zoneLoadThreshold = properties.zonePreference.loadThreshold;
        if (zoneLoadThreshold != null && !(zoneLoadThreshold > 0)) {
            errors.rejectValue("zonePreference.loadThreshold", "invalid", "must be a positive number");
        }
        Duration linkTtl = properties.link.temporaryTtl;
        if (linkTtl == null || linkTtl.toSeconds() < 1) {
            errors.rejectValue("link.temporaryTtl", "invalid", "must be at least 1 second");
        }
        Duration cacheTtl = properties.cache.ttl;
        if (cacheTtl == null || cacheTtl.isNegative()) {
            errors.rejectValue("cache.ttl", "invalid", "must be zero or positive");
        }
        else if (linkTtl != null && cacheTtl.compareTo(linkTtl) >= 0) {
            errors.rejectValue("cache.ttl", "invalid", "must be shorter than stateful-route.link.temporary-ttl ("
                    + linkTtl + ") so that a cached link never outlives its Redis link");
        }
        if (properties.cache.fallbackTtl == null || properties.cache.fallbackTtl.isNegative()) {
            errors.rejectValue("cache.fallbackTtl", "invalid", "must be zero or positive");
        }
        if (properties.cache.maximumSize < 0) {
            errors.rejectValue("cache.maximumSize", "invalid", "must be zero or positive");
        }
        if (properties.cache.expiry == null) {
            errors.rejectValue("cache.expiry", "required", "must be set");
        }
        else if (properties.cache.expiry == CacheExpiry.AFTER_ACCESS && !properties.link.followChanges) {
            errors.rejectValue("cache.expiry", "invalid", "after-access needs stateful-route.link.follow-changes=true: "
                    + "without link change notices a link that keeps being used would never be re-read from Redis");
        }
        if (properties.link.followChanges && properties.link.notices == Link.NoticeDelivery.CHANNEL
                && !properties.link.publishChanges) {
            errors.rejectValue("link.publishChanges", "invalid", "false needs stateful-route.link.notices=auto or "
                    + "tracking (or follow-changes=false): with notices=channel this application follows the channel, "
                    + "which would then carry none of its own link changes");
        }
        requirePositive(errors, "state.refreshPeriod", properties.state.refreshPeriod);
        requirePositive(errors, "state.podExpiry", properties.state.podExpiry);
        if (properties.state.maxServices < 1) {
            errors.rejectValue("state.maxServices", "invalid", "must be at least 1");
        }
        else if (properties.state.services.size() > properties.state.maxServices) {
            errors.rejectValue("state.services", "invalid", "lists more services than stateful-route.state.max-services ("
                    + properties.state.maxServices + ")");
        }
        for (String service : properties.state.services) {
            if (service == null || service.isBlank() || service.length() > RouteArguments.MAX_ID_LENGTH) {
                errors.rejectValue("state.services", "invalid", "must be names of 1 to "
                        + RouteArguments.MAX_ID_LENGTH + " chars");
            }
        }
        Double loadChangeThreshold = properties.state.loadChangeThreshold;
        if (loadChangeThreshold != null && !(loadChangeThreshold > 0 && loadChangeThreshold < Double.POSITIVE_INFINITY)) {
            errors.rejectValue("state.loadChangeThreshold", "invalid", "must be a positive number");
        }
        requirePositive(errors, "state.retention", properties.state.retention);
        if (isPositive(properties.state.podExpiry) && isPositive(properties.state.retention)
                && properties.state.retention.compareTo(properties.state.podExpiry) < 0) {
            errors.rejectValue("state.retention", "invalid",
                    "must not be shorter than stateful-route.state.pod-expiry (" + properties.state.podExpiry + ")");
        }
        Server server = properties.server;
        requirePositive(errors, "server.heartbeatPeriod", server.heartbeatPeriod);
        if (isPositive(server.heartbeatPeriod) && isPositive(properties.state.podExpiry)
                && properties.state.podExpiry.compareTo(server.heartbeatPeriod) <= 0) {
            errors.rejectValue("state.podExpiry", "invalid", "must be longer than stateful-route.server.heartbeat-period ("
                    + server.heartbeatPeriod + "), or live pods would look dead between heartbeats");
        }
        validateLease(properties, errors);
        if (server.drainPeriod == null || server.drainPeriod.isNegative()) {
            errors.rejectValue("server.drainPeriod", "invalid", "must be zero or positive");
        }
        if (!(server.cpuFactor >= 0 && server.cpuFactor <= 1)) {
            errors.rejectValue("server.cpuFactor", "invalid", "must be between 0 and 1");
        }
        if (server.capacity.users != null && server.capacity.users < 1) {
            errors.rejectValue("server.capacity.users", "invalid", "must be at least 1");
        }
        if (server.capacity.load != null && !(server.capacity.load > 0)) {
            errors.rejectValue("server.capacity.load", "invalid", "must be a positive number");
        }
        if (server.warmUp.duration == null || server.warmUp.duration.isNegative()
                || server.warmUp.duration.compareTo(Duration.ofDays(1)) > 0) {
            errors.rejectValue("server.warmUp.duration", "invalid", "must be zero or positive, and at most a day");
        }
        if (!(server.warmUp.aggression > 0) || Double.isInfinite(server.warmUp.aggression)) {
            errors.rejectValue("server.warmUp.aggression", "invalid", "must be a positive number");
        }
        if (!(server.warmUp.minimumWeight >= 0 && server.warmUp.minimumWeight <= 1)) {
            errors.rejectValue("server.warmUp.minimumWeight", "invalid", "must be between 0 and 1");
        }
        if (server.podIndex != null && server.podIndex < 0) {
            errors.rejectValue("server.podIndex", "invalid", "must be zero or positive");
        }
        if (Boolean.TRUE.equals(server.enabled) && (server.service == null || server.service.isBlank())) {
            errors.rejectValue("server.service", "required",
                    "must be set when stateful-route.server.enabled is true: name the stateful service this pod belongs to");
        }
        validateRebalance(server.rebalance, errors);
        validateReplicaAcks(properties, errors);
        Analyzer analyzer = properties.analyzer;
        requirePositive(errors, "analyzer.period", analyzer.period);
        requirePositive(errors, "analyzer.window", analyzer.window);
        if (!(analyzer.linkCacheHitRate.minimum >= 0 && analyzer.linkCacheHitRate.minimum <= 1)) {
            errors.rejectValue("analyzer.linkCacheHitRate.minimum", "invalid", "must be between 0 and 1");
        }
        requirePositive(errors, "analyzer.routingLatency.maximumP99", analyzer.routingLatency.maximumP99);
        if (!(analyzer.redisErrorRate.maximum >= 0 && analyzer.redisErrorRate.maximum <= 1)) {
            errors.rejectValue("analyzer.redisErrorRate.maximum", "invalid", "must be between 0 and 1");
        }
        if (analyzer.heartbeatFailures.maximum < 0) {
            errors.rejectValue("analyzer.heartbeatFailures.maximum", "invalid", "must be zero or positive");
        }
        if (!(analyzer.loadImbalance.maximumRatio >= 1)) {
            errors.rejectValue("analyzer.loadImbalance.maximumRatio", "invalid", "must be at least 1");
        }
        requirePositive(errors, "analyzer.stalePodStates.maximumAge", analyzer.stalePodStates.maximumAge);
    }

    /**
     * The timing inequality of the pod lease (see docs/ownership.md, "Assumptions and the timing
     * inequality"): the lease (pod expiry minus margin) outlasts a heartbeat period plus a command
     * timeout, so healthy heartbeats never let it lapse; the relink grace covers a gateway's view
     * age (one refresh period; a view older than half the grace is read again before a relink),
     * so a gateway relinks only on a view read after the pod's lease lapsed.
     */
    private static void validateLease(StatefulRouteProperties properties, Errors errors) {
        Duration podExpiry = properties.state.podExpiry;
        Duration margin = isPositive(podExpiry) ? properties.server.leaseMarginOr(podExpiry)
                : properties.server.leaseMargin;
        Duration grace = properties.state.relinkGrace;
        if (properties.server.leaseMargin != null) {
            requirePositive(errors, "server.leaseMargin", margin);
        }
        if (isPositive(margin) && isPositive(podExpiry) && isPositive(properties.server.heartbeatPeriod)
                && isPositive(properties.commandTimeout)) {
            Duration lease = podExpiry.minus(margin);
            Duration renewal = properties.server.heartbeatPeriod.plus(properties.commandTimeout);
            if (lease.compareTo(renewal) <= 0) {
                errors.rejectValue("server.leaseMargin", "invalid", "leaves a lease of " + lease
                        + " (stateful-route.state.pod-expiry minus this margin), which must be longer than "
                        + "stateful-route.server.heartbeat-period plus stateful-route.command-timeout (" + renewal
                        + "), or the lease would lapse between healthy heartbeats");
            }
        }
        if (grace == null || grace.isNegative()) {
            errors.rejectValue("state.relinkGrace", "invalid", "must be zero or positive");
        }
        else if (isPositive(properties.state.refreshPeriod) && grace.compareTo(properties.state.refreshPeriod) < 0) {
            errors.rejectValue("state.relinkGrace", "invalid", "must not be shorter than stateful-route.state.refresh-period ("
                    + properties.state.refreshPeriod + "): a gateway relinks only on a view younger than the grace");
        }
    }

    /** The terms RebalanceOptions accepts, checked at binding so a bad value names its property. */
    private static void validateRebalance(Rebalance rebalance, Errors errors) {
        requirePositive(errors, "server.rebalance.interval", rebalance.interval);
        if (!(rebalance.tolerance >= 0) || Double.isInfinite(rebalance.tolerance)) {
            errors.rejectValue("server.rebalance.tolerance", "invalid", "must be zero or a positive number");
        }
        if (!(rebalance.maxShare > 0 && rebalance.maxShare <= 1)) {
            errors.rejectValue("server.rebalance.maxShare", "invalid", "must be above 0 and at most 1");
        }
        if (rebalance.maxMovesPerSecond < 1) {
            errors.rejectValue("server.rebalance.maxMovesPerSecond", "invalid", "must be at least 1");
        }
    }

    /** A write waits for its replicas within its own command timeout, so the caller hears how it ended. */
    private static void validateReplicaAcks(StatefulRouteProperties properties, Errors errors) {
        Link link = properties.link;
        if (link.replicaAcks < 0) {
            errors.rejectValue("link.replicaAcks", "invalid", "must be zero or positive");
        }
        else if (link.replicaAcks > 0) {
            requirePositive(errors, "link.replicaAckTimeout", link.replicaAckTimeout);
            if (isPositive(link.replicaAckTimeout) && isPositive(properties.commandTimeout)
                    && link.replicaAckTimeout.compareTo(properties.commandTimeout) >= 0) {
                errors.rejectValue("link.replicaAckTimeout", "invalid", "must be shorter than "
                        + "stateful-route.command-timeout (" + properties.commandTimeout + ")");
            }
        }
    }

    private static void requireText(Errors errors, String field, String value) {
        if (value == null || value.isBlank()) {
            errors.rejectValue(field, "required", "must not be blank");
        }
    }

    private static void requirePositive(Errors errors, String field, Duration value) {
        if (!isPositive(value)) {
            errors.rejectValue(field, "invalid", "must be a positive duration");
        }
    }

    private static boolean isPositive(Duration value) {
        return value != null && !value.isNegative() && !value.isZero();
    }

    /**
     * Links created by clients.
     */
    public static class Link {

        /**
         * How long a link created for a new user lives unless the pod makes it persistent.
         */
        private Duration temporaryTtl = Duration.ofSeconds(300);

        /**
         * Whether clients follow the link change notices Redis publishes, evicting a moved or
         * removed link from the local cache at once. Without them a cached link may be stale for
         * the whole cache TTL.
         */
        private boolean followChanges = true;

        /**
         * How link change notices reach this application: by client tracking only the clients
         * that read the user hear of it, from the server that holds it (Redis 6.0+ over RESP3);
         * on the channel every change reaches every client. Auto tracks where the server supports
         * it and uses the channel where it does not, chosen at connect and logged. Only with
         * follow-changes: otherwise no tracking connection is opened.
         */
        private NoticeDelivery notices = NoticeDelivery.AUTO;

        /**
         * Whether link changes are also published on the channel, for clients that follow it
         * (older versions, notices=channel, and auto where the server cannot track). Switch it
         * off once every client runs auto or tracking and none uses the channel: on a cluster
         * the channel is relayed to every node even when nobody follows it. Off needs
         * notices=auto or tracking (or follow-changes off): startup fails otherwise.
         */
        private boolean publishChanges = true;

        /**
         * Replicas that must confirm each write a pod makes about its users (and each relink)
         * before it counts as done, so that it survives a failover to one of them. Each such
         * write waits for them (WAIT) on a connection of its own. 0 asks for none.
         */
        private int replicaAcks;

        /**
         * Longest a write waits for its replicas' confirmation before it fails with
         * ReplicaAcknowledgementException (it is applied on the primary). Shorter than the
         * command timeout.
         */
        private Duration replicaAckTimeout = Duration.ofSeconds(1);

        public Duration getTemporaryTtl() {
            return this.temporaryTtl;
        }

        public void setTemporaryTtl(Duration temporaryTtl) {
            this.temporaryTtl = temporaryTtl;
        }

        public boolean isFollowChanges() {
            return this.followChanges;
        }

        public void setFollowChanges(boolean followChanges) {
            this.followChanges = followChanges;
        }

        public NoticeDelivery getNotices() {
            return this.notices;
        }

        public void setNotices(NoticeDelivery notices) {
            this.notices = notices;
        }

        public boolean isPublishChanges() {
            return this.publishChanges;
        }

        public void setPublishChanges(boolean publishChanges) {
            this.publishChanges = publishChanges;
        }

        public int getReplicaAcks() {
            return this.replicaAcks;
        }

        public void setReplicaAcks(int replicaAcks) {
            this.replicaAcks = replicaAcks;
        }

        public Duration getReplicaAckTimeout() {
            return this.replicaAckTimeout;
        }

        public void setReplicaAckTimeout(Duration replicaAckTimeout) {
            this.replicaAckTimeout = replicaAckTimeout;
        }

        /**
         * How link change notices are delivered.
         */
        public enum NoticeDelivery {

            /**
             * Client tracking where every server the application reaches supports it, else the
             * channel (a server or proxy that refuses HELLO 3 or CLIENT TRACKING, a client set
             * to RESP2), from then on until a restart.
             */
            AUTO,

            /**
             * Every change published on one channel that every client follows.
             */
            CHANNEL,

            /**
             * Redis client tracking: an invalidation pushed only to the clients that read the
             * user's links, by the server that holds them.
             */
            TRACKING

        }

    }

    /**
     * Preference of this application's clients for the pods of its own zone, for new users;
     * users already linked are never moved for it.
     */
    public static class ZonePreference {

        /**
         * Whether new users go to routable pods of this application's zone first, when it has
         * a zone.
         */
        private boolean enabled = true;

        /**
         * Load score at or above which a pod counts as busy: when every pod of this zone with
         * room is busy, new users go to routable pods of any zone. When not set, the zone is
         * preferred while one of its pods has room.
         */
        private Double loadThreshold;

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public Double getLoadThreshold() {
            return this.loadThreshold;
        }

        public void setLoadThreshold(Double loadThreshold) {
            this.loadThreshold = loadThreshold;
        }

    }

    /**
     * Local link cache of clients.
     */
    public static class Cache {

        /**
         * Most links held in the local cache.
         */
        private long maximumSize = 100_000;

        /**
         * How long a link stays in the local cache; must be shorter than the temporary link TTL.
         */
        private Duration ttl = Duration.ofSeconds(240);

        /**
         * How long a cached link is trusted while link change notices may be lost (capped at
         * the cache TTL).
         */
        private Duration fallbackTtl = Duration.ofSeconds(1);

        /**
         * When the cache TTL of a link starts counting: from when it was read from Redis, or
         * from its last lookup. Either way a cached link never outlives its Redis link, and the
         * cache keeps the most valuable links within its maximum size (Caffeine's W-TinyLFU).
         */
        private CacheExpiry expiry = CacheExpiry.AFTER_WRITE;

        public CacheExpiry getExpiry() {
            return this.expiry;
        }

        public void setExpiry(CacheExpiry expiry) {
            this.expiry = expiry;
        }

        public long getMaximumSize() {
            return this.maximumSize;
        }

        public void setMaximumSize(long maximumSize) {
            this.maximumSize = maximumSize;
        }

        public Duration getTtl() {
            return this.ttl;
        }

        public void setTtl(Duration ttl) {
            this.ttl = ttl;
        }

        public Duration getFallbackTtl() {
            return this.fallbackTtl;
        }

        public void setFallbackTtl(Duration fallbackTtl) {
            this.fallbackTtl = fallbackTtl;
        }

    }

    /**
     * In-memory view of the pod states.
     */
    public static class State {

        /**
         * How often the pod states of every tracked service are re-read from Redis; also how
         * long the read of an untracked (e.g. unknown) service answers look-ups.
         */
        private Duration refreshPeriod = Duration.ofSeconds(1);

        /**
         * Most services whose pod states are kept, refreshed and reported (gauges, analyzer)
         * at once. Only services that have a pod entry in Redis, or are listed in services,
         * are tracked; beyond the cap, the service least recently used is evicted if idle.
         */
        private int maxServices = 1000;

        /**
         * Services of the local namespace this application routes to: tracked from the start
         * and even while no pod of theirs runs, so they are reported as down.
         */
        private List<String> services = new ArrayList<>();

        /**
         * How long after its last heartbeat a pod is considered dead; longer than the
         * heartbeat period.
         */
        private Duration podExpiry = Duration.ofSeconds(5);

        /**
         * How long after the pod expiry gateways wait before relinking a dead pod's users, so
         * the pod's lease has lapsed on every clock first; not shorter than the refresh period.
         */
        private Duration relinkGrace = Duration.ofSeconds(2);

        /**
         * How long the state of a pod that stopped heartbeating stays in Redis, and how long a
         * service without heartbeats or link writes stays in the namespace's list that
         * getLinkService reads.
         */
        private Duration retention = Duration.ofHours(1);

        /**
         * Load score movement of a pod between two reads that is reported as a LOAD_CHANGED
         * pod state event; no load events when not set.
         */
        private Double loadChangeThreshold;

        public Duration getRefreshPeriod() {
            return this.refreshPeriod;
        }

        public void setRefreshPeriod(Duration refreshPeriod) {
            this.refreshPeriod = refreshPeriod;
        }

        public Duration getPodExpiry() {
            return this.podExpiry;
        }

        public int getMaxServices() {
            return this.maxServices;
        }

        public void setMaxServices(int maxServices) {
            this.maxServices = maxServices;
        }

        public List<String> getServices() {
            return this.services;
        }

        public void setServices(List<String> services) {
            this.services = services;
        }

        public void setPodExpiry(Duration podExpiry) {
            this.podExpiry = podExpiry;
        }

        public Duration getRelinkGrace() {
            return this.relinkGrace;
        }

        public void setRelinkGrace(Duration relinkGrace) {
            this.relinkGrace = relinkGrace;
        }

        public Duration getRetention() {
            return this.retention;
        }

        public void setRetention(Duration retention) {
            this.retention = retention;
        }

        public Double getLoadChangeThreshold() {
            return this.loadChangeThreshold;
        }

        public void setLoadChangeThreshold(Double loadChangeThreshold) {
            this.loadChangeThreshold = loadChangeThreshold;
        }

    }

    /**
     * Server side: this application as a pod of a stateful service.
     */
    public static class Server {

        /**
         * Whether this application is a pod of a stateful service that publishes its state.
         * When not set, the server side is on exactly when a service name is set.
         */
        private Boolean enabled;

        /**
         * Name of the stateful service this pod belongs to.
         */
        private String service;

        /**
         * Ordinal of this pod in its StatefulSet. When not set, it is taken from the
         * trailing "-N" of the host name, as StatefulSets name their pods.
         */
        private Integer podIndex;

        /**
         * How often this pod publishes its state.
         */
        private Duration heartbeatPeriod = Duration.ofSeconds(1);

        /**
         * How much sooner than the pod expiry this pod considers its own lease lapsed, to absorb
         * clock drift; the lease must outlast a heartbeat period plus a command timeout. A fifth
         * of the pod expiry when not set.
         */
        private Duration leaseMargin;

        /**
         * How long a stopping pod keeps publishing DENY_NEW_CALL before SHUTDOWN; keep it
         * below spring.lifecycle.timeout-per-shutdown-phase.
         */
        private Duration drainPeriod = Duration.ofSeconds(5);

        /**
         * Weight of waiting tasks in the load score, between 0 and 1; the load state gets the
         * rest.
         */
        private double cpuFactor = 0.3;

        private final AdvertisedAddress advertisedAddress = new AdvertisedAddress();

        private final Capacity capacity = new Capacity();

        private final WarmUp warmUp = new WarmUp();

        private final Rebalance rebalance = new Rebalance();

        public Boolean getEnabled() {
            return this.enabled;
        }

        public void setEnabled(Boolean enabled) {
            this.enabled = enabled;
        }

        public String getService() {
            return this.service;
        }

        public void setService(String service) {
            this.service = service;
        }

        public Integer getPodIndex() {
            return this.podIndex;
        }

        public void setPodIndex(Integer podIndex) {
            this.podIndex = podIndex;
        }

        public Duration getHeartbeatPeriod() {
            return this.heartbeatPeriod;
        }

        public void setHeartbeatPeriod(Duration heartbeatPeriod) {
            this.heartbeatPeriod = heartbeatPeriod;
        }

        public Duration getLeaseMargin() {
            return this.leaseMargin;
        }

        /** The lease margin, or a fifth of the given pod expiry when not set. */
        public Duration leaseMarginOr(Duration podExpiry) {
            return (this.leaseMargin != null) ? this.leaseMargin : podExpiry.dividedBy(5);
        }

        public void setLeaseMargin(Duration leaseMargin) {
            this.leaseMargin = leaseMargin;
        }

        public Duration getDrainPeriod() {
            return this.drainPeriod;
        }

        public void setDrainPeriod(Duration drainPeriod) {
            this.drainPeriod = drainPeriod;
        }

        public double getCpuFactor() {
            return this.cpuFactor;
        }

        public void setCpuFactor(double cpuFactor) {
            this.cpuFactor = cpuFactor;
        }

        public AdvertisedAddress getAdvertisedAddress() {
            return this.advertisedAddress;
        }

        public Capacity getCapacity() {
            return this.capacity;
        }

        public WarmUp getWarmUp() {
            return this.warmUp;
        }

        public Rebalance getRebalance() {
            return this.rebalance;
        }

    }

    /**
     * Rebalancing: this pod moves some of its own users to the pods below the mean user count
     * of the routable pods, in paced rounds, each move with the consent of the application's
     * MoveConsent bean.
     */
    public static class Rebalance {

        /**
         * Whether this pod rebalances its users. Without a MoveConsent bean, rounds only propose
         * moves (metrics, endpoint) and nobody moves.
         */
        private boolean enabled = true;

        /**
         * Time between the end of one round and the start of the next.
         */
        private Duration interval = Duration.ofSeconds(5);

        /**
         * How far above the mean user count of the routable pods this pod may be before it
         * sheds users, as a share of the mean (0.1: 10 % above); zero or positive.
         */
        private double tolerance = 0.1;

        /**
         * Largest share of this pod's users moved in one round, above 0 and at most 1.
         */
        private double maxShare = 0.1;

        /**
         * Most hand-offs per second; a round moves at most what its interval allows at this rate.
         */
        private int maxMovesPerSecond = 20;

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public Duration getInterval() {
            return this.interval;
        }

        public void setInterval(Duration interval) {
            this.interval = interval;
        }

        public double getTolerance() {
            return this.tolerance;
        }

        public void setTolerance(double tolerance) {
            this.tolerance = tolerance;
        }

        public double getMaxShare() {
            return this.maxShare;
        }

        public void setMaxShare(double maxShare) {
            this.maxShare = maxShare;
        }

        public int getMaxMovesPerSecond() {
            return this.maxMovesPerSecond;
        }

        public void setMaxMovesPerSecond(int maxMovesPerSecond) {
            this.maxMovesPerSecond = maxMovesPerSecond;
        }

    }

    /**
     * How this pod ramps up to its share of new users after it became routable (started, or
     * back to READY), published with every heartbeat so that every gateway ramps it alike.
     */
    public static class WarmUp {

        /**
         * How long the ramp lasts; 0 for none: the pod takes its full share at once.
         */
        private Duration duration = Duration.ZERO;

        /**
         * How fast the share rises: 1 is linear, more gives the pod users sooner, less later.
         */
        private double aggression = 1;

        /**
         * Share of its full share of new users the pod starts the ramp with, between 0 and 1.
         */
        private double minimumWeight = 0.1;

        public Duration getDuration() {
            return this.duration;
        }

        public void setDuration(Duration duration) {
            this.duration = duration;
        }

        public double getAggression() {
            return this.aggression;
        }

        public void setAggression(double aggression) {
            this.aggression = aggression;
        }

        public double getMinimumWeight() {
            return this.minimumWeight;
        }

        public void setMinimumWeight(double minimumWeight) {
            this.minimumWeight = minimumWeight;
        }

    }

    /**
     * How many users this pod takes, published with every heartbeat: gateways give a pod at
     * its capacity no new users, and it keeps the users it has.
     */
    public static class Capacity {

        /**
         * Most users this pod holds (users it linked persistently and has not let go); no
         * limit when not set.
         */
        private Integer users;

        /**
         * Load score at or above which this pod takes no new users; no limit when not set.
         */
        private Double load;

        public Integer getUsers() {
            return this.users;
        }

        public void setUsers(Integer users) {
            this.users = users;
        }

        public Double getLoad() {
            return this.load;
        }

        public void setLoad(Double load) {
            this.load = load;
        }

    }

    /**
     * Where this pod tells gateways to reach it, published with every heartbeat.
     */
    public static class AdvertisedAddress {

        /**
         * Whether this pod advertises an address; gateways route only to pods that do.
         */
        private boolean enabled = true;

        /**
         * Host or IP address gateways connect to. When not set, the POD_IP environment
         * variable (the downward API), else this machine's address.
         */
        private String host;

        /**
         * Port gateways connect to. When not set, the port the web server listens on, known
         * once it started.
         */
        private Integer port;

        /**
         * URI scheme gateways connect with. When not set, https when server.ssl.enabled is
         * true, else http.
         */
        private String scheme;

        /**
         * Facts about this pod published with its address, such as its zone, for balancers.
         */
        private Map<String, String> metadata = new LinkedHashMap<>();

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public String getHost() {
            return this.host;
        }

        public void setHost(String host) {
            this.host = host;
        }

        public Integer getPort() {
            return this.port;
        }

        public void setPort(Integer port) {
            this.port = port;
        }

        public String getScheme() {
            return this.scheme;
        }

        public void setScheme(String scheme) {
            this.scheme = scheme;
        }

        public Map<String, String> getMetadata() {
            return this.metadata;
        }

        public void setMetadata(Map<String, String> metadata) {
            this.metadata = metadata;
        }

    }

    /**
     * Starter-owned scheduler of heartbeats and state refreshes.
     */
    public static class Scheduling {

        /**
         * Whether the starter runs the heartbeat, the state refresh and the rebalancing rounds on
         * threads of its own. Switch it off to call them from your own scheduled methods.
         */
        private boolean enabled = true;

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

    }

    /**
     * Micrometer observations (trace spans) of routing decisions and Redis operations.
     */
    public static class Tracing {

        /**
         * Whether observations of routing decisions carry the uid, as a high-cardinality key
         * value (it then reaches trace spans, never metrics).
         */
        private boolean includeUid;

        public boolean isIncludeUid() {
            return this.includeUid;
        }

        public void setIncludeUid(boolean includeUid) {
            this.includeUid = includeUid;
        }

    }

    /**
     * Rule-based performance analyzer over the recorded metrics.
     */
    public static class Analyzer {

        /**
         * Whether the performance analyzer runs (it needs a MeterRegistry).
         */
        private boolean enabled = true;

        /**
         * How often the analyzer runs by itself; it also runs on each read of its endpoint.
         */
        private Duration period = Duration.ofMinutes(1);

        /**
         * Span of recent history that counts (hits, errors, failures) are compared over.
         */
        private Duration window = Duration.ofMinutes(5);

        private final LinkCacheHitRate linkCacheHitRate = new LinkCacheHitRate();

        private final RoutingLatency routingLatency = new RoutingLatency();

        private final RedisErrorRate redisErrorRate = new RedisErrorRate();

        private final HeartbeatFailures heartbeatFailures = new HeartbeatFailures();

        private final NoRoutablePod noRoutablePod = new NoRoutablePod();

        private final LoadImbalance loadImbalance = new LoadImbalance();

        private final StalePodStates stalePodStates = new StalePodStates();

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public Duration getPeriod() {
            return this.period;
        }

        public void setPeriod(Duration period) {
            this.period = period;
        }

        public Duration getWindow() {
            return this.window;
        }

        public void setWindow(Duration window) {
            this.window = window;
        }

        public LinkCacheHitRate getLinkCacheHitRate() {
            return this.linkCacheHitRate;
        }

        public RoutingLatency getRoutingLatency() {
            return this.routingLatency;
        }

        public RedisErrorRate getRedisErrorRate() {
            return this.redisErrorRate;
        }

        public HeartbeatFailures getHeartbeatFailures() {
            return this.heartbeatFailures;
        }

        public NoRoutablePod getNoRoutablePod() {
            return this.noRoutablePod;
        }

        public LoadImbalance getLoadImbalance() {
            return this.loadImbalance;
        }

        public StalePodStates getStalePodStates() {
            return this.stalePodStates;
        }

        /**
         * Rule that can be switched off.
         */
        public abstract static class Rule {

            /**
             * Whether this rule runs.
             */
            private boolean enabled = true;

            public boolean isEnabled() {
                return this.enabled;
            }

            public void setEnabled(boolean enabled) {
                this.enabled = enabled;
            }

        }

        /**
         * Share of link cache lookups answered from the cache.
         */
        public static class LinkCacheHitRate extends Rule {

            /**
             * Lowest acceptable share of lookups answered from the link cache, between 0 and 1.
             */
            private double minimum = 0.8;

            /**
             * Fewest lookups in the window for the hit rate to be judged.
             */
            private long minimumLookups = 100;

            public double getMinimum() {
                return this.minimum;
            }

            public void setMinimum(double minimum) {
                this.minimum = minimum;
            }

            public long getMinimumLookups() {
                return this.minimumLookups;
            }

            public void setMinimumLookups(long minimumLookups) {
                this.minimumLookups = minimumLookups;
            }

        }

        /**
         * 99th percentile of routing decision time.
         */
        public static class RoutingLatency extends Rule {

            /**
             * Highest acceptable 99th percentile of routing decisions of one kind.
             */
            private Duration maximumP99 = Duration.ofMillis(50);

            /**
             * Fewest decisions of one kind in the window for their percentile to be judged.
             */
            private long minimumDecisions = 20;

            public Duration getMaximumP99() {
                return this.maximumP99;
            }

            public void setMaximumP99(Duration maximumP99) {
                this.maximumP99 = maximumP99;
            }

            public long getMinimumDecisions() {
                return this.minimumDecisions;
            }

            public void setMinimumDecisions(long minimumDecisions) {
                this.minimumDecisions = minimumDecisions;
            }

        }

        /**
         * Share of Redis operations that failed.
         */
        public static class RedisErrorRate extends Rule {

            /**
             * Highest acceptable share of failed Redis operations, between 0 and 1.
             */
            private double maximum = 0.01;

            /**
             * Fewest Redis operations in the window for the error rate to be judged.
             */
            private long minimumOperations = 20;

            public double getMaximum() {
                return this.maximum;
            }

            public void setMaximum(double maximum) {
                this.maximum = maximum;
            }

            public long getMinimumOperations() {
                return this.minimumOperations;
            }

            public void setMinimumOperations(long minimumOperations) {
                this.minimumOperations = minimumOperations;
            }

        }

        /**
         * Heartbeats of this pod that did not reach Redis.
         */
        public static class HeartbeatFailures extends Rule {

            /**
             * Most heartbeat failures in the window that raise no finding.
             */
            private long maximum = 0;

            public long getMaximum() {
                return this.maximum;
            }

            public void setMaximum(long maximum) {
                this.maximum = maximum;
            }

        }

        /**
         * Services with no pod that takes new users.
         */
        public static class NoRoutablePod extends Rule {

        }

        /**
         * Spread of load scores between the alive pods of a service.
         */
        public static class LoadImbalance extends Rule {

            /**
             * Highest acceptable ratio of the largest load score to the mean over alive pods.
             */
            private double maximumRatio = 1.5;

            /**
             * Lowest mean load score at which imbalance is judged, so idle services raise none.
             */
            private double minimumMeanLoad = 1;

            public double getMaximumRatio() {
                return this.maximumRatio;
            }

            public void setMaximumRatio(double maximumRatio) {
                this.maximumRatio = maximumRatio;
            }

            public double getMinimumMeanLoad() {
                return this.minimumMeanLoad;
            }

            public void setMinimumMeanLoad(double minimumMeanLoad) {
                this.minimumMeanLoad = minimumMeanLoad;
            }

        }

        /**
         * Age of the pod states routing decisions are based on.
         */
        public static class StalePodStates extends Rule {

            /**
             * Oldest acceptable pod states of a service, counted from their last read from Redis.
             */
            private Duration maximumAge = Duration.ofSeconds(10);

            public Duration getMaximumAge() {
                return this.maximumAge;
            }

            public void setMaximumAge(Duration maximumAge) {
                this.maximumAge = maximumAge;
            }

        }

    }

}
