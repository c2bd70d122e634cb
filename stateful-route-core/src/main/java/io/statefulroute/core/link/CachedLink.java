package io.statefulroute.core.link;

/** A cached link and how long it may stay cached: never longer than its Redis link lives. */
record CachedLink(int podIndex, long ttlNanos) {
}
