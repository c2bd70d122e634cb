package io.statefulroute.core.link;

/**
 * Link change notices a gateway received since it started.
 *
 * @param received notices of a changed link (probes not counted)
 * @param evicted notices that dropped a link from the cache; the others named a user this
 * gateway had not cached, and cost it nothing but their delivery
 */
public record LinkNoticeStats(long received, long evicted) {

    /** Notices that named no cached link. */
    public long idle() {
        return this.received - this.evicted;
    }
}
