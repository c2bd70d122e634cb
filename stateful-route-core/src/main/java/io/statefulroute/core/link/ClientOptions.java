package io.statefulroute.core.link;

import java.time.Duration;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RouteArguments;

/**
 * Settings of a {@link StatefulRouteForClientDriver}.
 *
 * @param localNamespace the only namespace this client creates links in
 * @param temporaryLinkTtl how long a link created by {@code computeLinkedPod} lives unless a pod persists it
 * @param cacheTtl how long a link stays in the local cache; shorter than {@code temporaryLinkTtl}
 * so a cached link never outlives its Redis link
 * @param cacheMaximumSize most links held in the local cache
 * @param fallbackCacheTtl how long a cached link is trusted while link change notices may be missed
 * @param cacheExpiry when the cache TTL starts counting; whatever the policy, a cached link
 * never outlives its Redis link
 */
public record ClientOptions(String localNamespace, Duration temporaryLinkTtl, Duration cacheTtl,
        long cacheMaximumSize, Duration fallbackCacheTtl, CacheExpiry cacheExpiry) {

    /**
     * When a cached link's TTL starts counting. The cache is size-bounded with Caffeine's
     * W-TinyLFU in both cases.
     */
    public enum CacheExpiry {

        /** The cache TTL counts from when the link was read from Redis. */
        AFTER_WRITE,

        /**
         * The cache TTL counts from the last lookup, so links of active users stay cached;
         * still capped by the remaining life of the Redis link (temporary links, and links set
         * with {@code setCache}, are never extended past it). Without link change notices a
         * persistent link that keeps being used is never re-read, so use it with notices on.
         */
        AFTER_ACCESS
    }

    /** The source design's defaults: 300 s temporary links, cached for 240 s (1 s without notices). */
    public static ClientOptions defaults(String localNamespace) {
        return new ClientOptions(localNamespace, Duration.ofSeconds(300), Duration.ofSeconds(240), 100_000,
                Duration.ofSeconds(1));
    }

    /** Options whose cache TTL counts from the write ({@link CacheExpiry#AFTER_WRITE}). */
    public ClientOptions(String localNamespace, Duration temporaryLinkTtl, Duration cacheTtl, long cacheMaximumSize,
            Duration fallbackCacheTtl) {
        this(localNamespace, temporaryLinkTtl, cacheTtl, cacheMaximumSize, fallbackCacheTtl, CacheExpiry.AFTER_WRITE);
    }

    /** These options with another cache expiry policy. */
    public ClientOptions withCacheExpiry(CacheExpiry cacheExpiry) {
        return new ClientOptions(this.localNamespace, this.temporaryLinkTtl, this.cacheTtl, this.cacheMaximumSize,
                this.fallbackCacheTtl, cacheExpiry);
    }

    /** Options with a fallback cache TTL of 1 s (or the cache TTL, if shorter). */
    public ClientOptions(String localNamespace, Duration temporaryLinkTtl, Duration cacheTtl, long cacheMaximumSize) {
        this(localNamespace, temporaryLinkTtl, cacheTtl, cacheMaximumSize,
                (cacheTtl != null && cacheTtl.compareTo(Duration.ofSeconds(1)) < 0) ? cacheTtl : Duration.ofSeconds(1));
    }

    public ClientOptions {
        RouteArguments.requireId("localNamespace", localNamespace);
        if (temporaryLinkTtl == null || temporaryLinkTtl.toSeconds() < 1) {
            throw new InvalidRouteArgumentException("temporaryLinkTtl", "must be at least 1 second");
        }
        RouteArguments.requireTtlSeconds("temporaryLinkTtl", temporaryLinkTtl.toSeconds());
        if (cacheTtl == null || cacheTtl.isNegative() || cacheTtl.compareTo(temporaryLinkTtl) >= 0) {
            throw new InvalidRouteArgumentException("cacheTtl",
                    cacheTtl + " must be >= 0 and shorter than the temporary link TTL " + temporaryLinkTtl);
        }
        if (fallbackCacheTtl == null || fallbackCacheTtl.isNegative() || fallbackCacheTtl.compareTo(cacheTtl) > 0) {
            throw new InvalidRouteArgumentException("fallbackCacheTtl",
                    fallbackCacheTtl + " must be >= 0 and not longer than the cache TTL " + cacheTtl);
        }
        if (cacheMaximumSize < 0) {
            throw new InvalidRouteArgumentException("cacheMaximumSize", cacheMaximumSize + " must be >= 0");
        }
        if (cacheExpiry == null) {
            throw new InvalidRouteArgumentException("cacheExpiry", "must be set");
        }
    }
}
