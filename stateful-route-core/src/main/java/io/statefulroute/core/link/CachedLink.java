package io.statefulroute.core.link;

/**
 * A cached link, how long it may stay cached (never longer than its Redis link lives), and
 * when it was cached (to distrust old entries while change notices may be missed).
 */
record CachedLink(int podIndex, long ttlNanos, long cachedAtNanos) {
}
