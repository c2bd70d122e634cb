package io.statefulroute.autoconfigure;

import java.time.Duration;

import io.statefulroute.core.balance.PodSelectionStrategy;

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

    private final Link link = new Link();

    private final Cache cache = new Cache();

    private final State state = new State();

    private final Server server = new Server();

    private final Scheduling scheduling = new Scheduling();

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
        requirePositive(errors, "state.refreshPeriod", properties.state.refreshPeriod);
        requirePositive(errors, "state.podExpiry", properties.state.podExpiry);
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
        if (server.drainPeriod == null || server.drainPeriod.isNegative()) {
            errors.rejectValue("server.drainPeriod", "invalid", "must be zero or positive");
        }
        if (!(server.cpuFactor >= 0 && server.cpuFactor <= 1)) {
            errors.rejectValue("server.cpuFactor", "invalid", "must be between 0 and 1");
        }
        if (server.podIndex != null && server.podIndex < 0) {
            errors.rejectValue("server.podIndex", "invalid", "must be zero or positive");
        }
        if (Boolean.TRUE.equals(server.enabled) && (server.service == null || server.service.isBlank())) {
            errors.rejectValue("server.service", "required",
                    "must be set when stateful-route.server.enabled is true: name the stateful service this pod belongs to");
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
         * How often the pod states of every known service are re-read from Redis.
         */
        private Duration refreshPeriod = Duration.ofSeconds(1);

        /**
         * How long after its last heartbeat a pod is considered dead; longer than the
         * heartbeat period.
         */
        private Duration podExpiry = Duration.ofSeconds(5);

        /**
         * How long the state of a pod that stopped heartbeating stays in Redis.
         */
        private Duration retention = Duration.ofHours(1);

        public Duration getRefreshPeriod() {
            return this.refreshPeriod;
        }

        public void setRefreshPeriod(Duration refreshPeriod) {
            this.refreshPeriod = refreshPeriod;
        }

        public Duration getPodExpiry() {
            return this.podExpiry;
        }

        public void setPodExpiry(Duration podExpiry) {
            this.podExpiry = podExpiry;
        }

        public Duration getRetention() {
            return this.retention;
        }

        public void setRetention(Duration retention) {
            this.retention = retention;
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
         * How long a stopping pod keeps publishing DENY_NEW_CALL before SHUTDOWN; keep it
         * below spring.lifecycle.timeout-per-shutdown-phase.
         */
        private Duration drainPeriod = Duration.ofSeconds(5);

        /**
         * Weight of waiting tasks in the load score, between 0 and 1; the load state gets the
         * rest.
         */
        private double cpuFactor = 0.3;

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

    }

    /**
     * Starter-owned scheduler of heartbeats and state refreshes.
     */
    public static class Scheduling {

        /**
         * Whether the starter runs the heartbeat and the state refresh on its own scheduler.
         * Switch it off to call them from your own scheduled methods.
         */
        private boolean enabled = true;

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

    }

}
