package io.statefulroute.core.link;

/**
 * A cached link of one user, and the user's other cached links ({@link #next}): the link
 * cache is keyed by uid alone, so a look-up builds no composite key. Immutable but for the
 * last access time, so a user's links are replaced as a whole.
 *
 * <p>{@link #lifetimeNanos} is how long the entry may ever stay cached from
 * {@link #cachedAtNanos} ({@link Long#MAX_VALUE} for a persistent link): the remaining life of
 * the Redis link when it was read, so that whatever the expiry policy, a cached link never
 * outlives its Redis link.
 */
final class CachedLink {

    final String namespace;

    final String service;

    final int podIndex;

    final long cachedAtNanos;

    final long lifetimeNanos;

    final CachedLink next;

    /** Last look-up that answered from this entry (after-access expiry only). */
    private volatile long lastAccessNanos;

    CachedLink(String namespace, String service, int podIndex, long cachedAtNanos, long lifetimeNanos,
            CachedLink next) {
        this.namespace = namespace;
        this.service = service;
        this.podIndex = podIndex;
        this.cachedAtNanos = cachedAtNanos;
        this.lifetimeNanos = lifetimeNanos;
        this.next = next;
        this.lastAccessNanos = cachedAtNanos;
    }

    /** The link of one service in this user's list, or null. */
    CachedLink find(String namespace, String service) {
        for (CachedLink link = this; link != null; link = link.next) {
            if (link.matches(namespace, service)) {
                return link;
            }
        }
        return null;
    }

    private boolean matches(String namespace, String service) {
        return this.service.equals(service) && this.namespace.equals(namespace);
    }

    /**
     * Whether the entry may still answer at {@code nowNanos}: within its lifetime and within
     * the cache TTL of when it was cached (or, with {@code afterAccess}, last used, which a
     * live answer renews).
     */
    boolean answersAt(long nowNanos, long cacheTtlNanos, boolean afterAccess) {
        if (!isLiveAt(nowNanos, cacheTtlNanos, afterAccess)) {
            return false;
        }
        if (afterAccess && nowNanos - this.lastAccessNanos > 0) {
            this.lastAccessNanos = nowNanos;
        }
        return true;
    }

    /**
     * When the last of this user's links stops answering, as things stand (an access may
     * renew an after-access entry later still): none answers from then on.
     */
    long lastEndNanos(long cacheTtlNanos, boolean afterAccess) {
        long last = endNanos(cacheTtlNanos, afterAccess);
        for (CachedLink link = this.next; link != null; link = link.next) {
            long end = link.endNanos(cacheTtlNanos, afterAccess);
            if (end - last > 0) {
                last = end;
            }
        }
        return last;
    }

    private long endNanos(long cacheTtlNanos, boolean afterAccess) {
        long ttlFromCached = (afterAccess ? this.lastAccessNanos - this.cachedAtNanos : 0) + cacheTtlNanos;
        return this.cachedAtNanos + Math.min(this.lifetimeNanos, ttlFromCached);
    }

    private boolean isLiveAt(long nowNanos, long cacheTtlNanos, boolean afterAccess) {
        return nowNanos - this.cachedAtNanos < this.lifetimeNanos
                && nowNanos - (afterAccess ? this.lastAccessNanos : this.cachedAtNanos) < cacheTtlNanos;
    }

    /** These links with {@code link} in place of the same service's, dropping entries that no longer answer. */
    CachedLink with(String namespace, String service, int podIndex, long cachedAtNanos, long lifetimeNanos,
            long cacheTtlNanos, boolean afterAccess) {
        return new CachedLink(namespace, service, podIndex, cachedAtNanos, lifetimeNanos,
                without(namespace, service, cachedAtNanos, cacheTtlNanos, afterAccess));
    }

    /**
     * These links without the service's, and without entries that no longer answer; null when
     * none is left.
     */
    CachedLink without(String namespace, String service, long nowNanos, long cacheTtlNanos, boolean afterAccess) {
        CachedLink rest = (this.next != null)
                ? this.next.without(namespace, service, nowNanos, cacheTtlNanos, afterAccess) : null;
        boolean drop = matches(namespace, service) || !isLiveAt(nowNanos, cacheTtlNanos, afterAccess);
        if (drop) {
            return rest;
        }
        if (rest == this.next) {
            return this;
        }
        CachedLink copy = new CachedLink(this.namespace, this.service, this.podIndex, this.cachedAtNanos,
                this.lifetimeNanos, rest);
        copy.lastAccessNanos = this.lastAccessNanos;
        return copy;
    }

    /** How many links this user has cached. */
    int count() {
        int count = 0;
        for (CachedLink link = this; link != null; link = link.next) {
            count++;
        }
        return count;
    }
}
