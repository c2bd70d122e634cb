package io.statefulroute.core.link;

/**
 * Statistics of the local link cache.
 *
 * @param size links cached now (approximate)
 * @param hits lookups answered from the cache
 * @param misses lookups that found nothing
 * @param evictions links dropped for size or expiry
 */
public record LinkCacheStats(long size, long hits, long misses, long evictions) {

    /** Share of lookups answered from the cache, 0 before the first lookup. */
    public double hitRate() {
        long total = this.hits + this.misses;
        return (total == 0) ? 0 : (double) this.hits / total;
    }
}
