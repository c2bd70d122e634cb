package io.statefulroute.core.link;

/**
 * A cached link, how long it may stay cached from now, when it was cached (to distrust old
 * entries while change notices may be missed), and the longest it may ever stay cached from
 * then ({@link Long#MAX_VALUE} when unbounded: a persistent link), so that an entry whose
 * TTL is renewed on access still never outlives its Redis link.
 */
record CachedLink(int podIndex, long ttlNanos, long cachedAtNanos, long maxLifetimeNanos) {
}
