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
 */
public record ClientOptions(String localNamespace, Duration temporaryLinkTtl, Duration cacheTtl,
        long cacheMaximumSize, Duration fallbackCacheTtl) {

    /** The source design's defaults: 300 s temporary links, cached for 240 s (1 s without notices). */
    public static ClientOptions defaults(String localNamespace) {
        return new ClientOptions(localNamespace, Duration.ofSeconds(300), Duration.ofSeconds(240), 100_000,
                Duration.ofSeconds(1));
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
    }
}
