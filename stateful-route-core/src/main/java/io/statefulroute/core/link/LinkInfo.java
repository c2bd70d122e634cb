package io.statefulroute.core.link;

/**
 * A user's link to one pod of a service.
 *
 * @param podIndex the linked pod
 * @param remainingMillis time until a temporary link expires, or -1 for a persistent link
 * @param created whether this call created the link (only for operations that may create one)
 */
public record LinkInfo(int podIndex, long remainingMillis, boolean created) {

    /** Whether the link never expires. */
    public boolean persistent() {
        return this.remainingMillis < 0;
    }
}
