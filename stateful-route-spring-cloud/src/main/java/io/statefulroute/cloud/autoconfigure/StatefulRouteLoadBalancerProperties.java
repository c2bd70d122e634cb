package io.statefulroute.cloud.autoconfigure;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Configuration properties of the Spring Cloud LoadBalancer integration, under
 * {@code stateful-route.loadbalancer.*}.
 */
@ConfigurationProperties("stateful-route.loadbalancer")
public class StatefulRouteLoadBalancerProperties {

    /**
     * Whether load-balanced calls (Spring Cloud Gateway lb:// routes, @LoadBalanced clients)
     * go to the pod linked to their user.
     */
    private boolean enabled = true;

    /**
     * Load-balanced service ids routed by stateful-route even while no pod of theirs
     * heartbeats; any other service is routed by it while pods of it heartbeat in the
     * namespace, and by Spring Cloud LoadBalancer's own balancer otherwise.
     */
    private Set<String> services = new LinkedHashSet<>();

    /**
     * How long a client answered 503 should wait before retrying, sent as Retry-After.
     */
    private Duration retryAfter = Duration.ofSeconds(1);

    private final Uid uid = new Uid();

    private final Discovery discovery = new Discovery();

    private final WebSocket websocket = new WebSocket();

    public boolean isEnabled() {
        return this.enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public Set<String> getServices() {
        return this.services;
    }

    public void setServices(Set<String> services) {
        this.services = services;
    }

    public Duration getRetryAfter() {
        return this.retryAfter;
    }

    public void setRetryAfter(Duration retryAfter) {
        this.retryAfter = retryAfter;
    }

    public Uid getUid() {
        return this.uid;
    }

    public Discovery getDiscovery() {
        return this.discovery;
    }

    public WebSocket getWebsocket() {
        return this.websocket;
    }

    /**
     * WebSocket sessions a Spring Cloud Gateway proxies to a user's pod.
     */
    public static class WebSocket {

        /**
         * Whether a proxied session is closed when its user's link moves away from its pod, or
         * its pod dies or shuts down, so that the client reconnects to the user's current pod.
         */
        private boolean followLinks = true;

        /**
         * Close code sent to the client of a session closed because its user moved or its pod
         * is gone.
         */
        private int closeCode = 1012;

        public boolean isFollowLinks() {
            return this.followLinks;
        }

        public void setFollowLinks(boolean followLinks) {
            this.followLinks = followLinks;
        }

        public int getCloseCode() {
            return this.closeCode;
        }

        public void setCloseCode(int closeCode) {
            this.closeCode = closeCode;
        }

    }

    /**
     * Pods reached at the instances of the application's discovery client.
     */
    public static class Discovery {

        /**
         * Whether a pod is reached at the instance the application's discovery client lists
         * for it (matched by pod index) instead of the address its heartbeat advertises.
         */
        private boolean enabled;

        /**
         * Instance metadata key holding the pod index; an instance without it whose host
         * name's first label is <service>-<n> stands for pod n.
         */
        private String podIndexMetadata = "pod-index";

        /**
         * How long the discovery client's instances are used before they are fetched again.
         */
        private Duration refreshPeriod = Duration.ofSeconds(5);

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public String getPodIndexMetadata() {
            return this.podIndexMetadata;
        }

        public void setPodIndexMetadata(String podIndexMetadata) {
            this.podIndexMetadata = podIndexMetadata;
        }

        public Duration getRefreshPeriod() {
            return this.refreshPeriod;
        }

        public void setRefreshPeriod(Duration refreshPeriod) {
            this.refreshPeriod = refreshPeriod;
        }

    }

    /**
     * Where the user of a request is read from.
     */
    public static class Uid {

        /**
         * Part of the request that holds the uid.
         */
        private UidSource source = UidSource.HEADER;

        /**
         * Request header holding the uid.
         */
        private String header = "X-User-Id";

        /**
         * Cookie holding the uid.
         */
        private String cookie = "uid";

        /**
         * Query parameter holding the uid.
         */
        private String queryParameter = "uid";

        /**
         * Index of the request path segment holding the uid, 0 being the first.
         */
        private int pathSegment = 1;

        /**
         * Claim of the authenticated user's JWT holding the uid.
         */
        private String claim = "sub";

        public UidSource getSource() {
            return this.source;
        }

        public void setSource(UidSource source) {
            this.source = source;
        }

        public String getHeader() {
            return this.header;
        }

        public void setHeader(String header) {
            this.header = header;
        }

        public String getCookie() {
            return this.cookie;
        }

        public void setCookie(String cookie) {
            this.cookie = cookie;
        }

        public String getQueryParameter() {
            return this.queryParameter;
        }

        public void setQueryParameter(String queryParameter) {
            this.queryParameter = queryParameter;
        }

        public int getPathSegment() {
            return this.pathSegment;
        }

        public void setPathSegment(int pathSegment) {
            this.pathSegment = pathSegment;
        }

        public String getClaim() {
            return this.claim;
        }

        public void setClaim(String claim) {
            this.claim = claim;
        }

    }

    /**
     * Part of a request that holds its uid.
     */
    public enum UidSource {

        /** A request header. */
        HEADER,

        /** A cookie. */
        COOKIE,

        /** A query parameter. */
        QUERY_PARAMETER,

        /** A segment of the request path. */
        PATH_SEGMENT,

        /** The authenticated principal's name (Spring Security). */
        PRINCIPAL,

        /** A claim of the authenticated user's JWT (Spring Security OAuth2). */
        JWT_CLAIM

    }

}
