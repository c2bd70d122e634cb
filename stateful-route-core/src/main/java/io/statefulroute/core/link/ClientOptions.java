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
 */
public record ClientOptions(String localNamespace, Duration temporaryLinkTtl, Duration cacheTtl,
        long cacheMaximumSize) {

    /** The source design's defaults: 300 s temporary links, cached for 240 s. */
    public static ClientOptions defaults(String localNamespace) {
        return new ClientOptions(localNamespace, Duration.ofSeconds(300), Duration.ofSeconds(240), 100_000);
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
        if (cacheMaximumSize < 0) {
            throw new InvalidRouteArgumentException("cacheMaximumSize", cacheMaximumSize + " must be >= 0");
        }
    }
}
