package io.statefulroute.core.state;

/**
 * The monotonic clock pod liveness is judged by. While Redis is unreachable it stands still
 * at the moment the outage was noticed: nobody can publish or read heartbeats then, so pods
 * alive at that moment stay alive and cached routes keep answering, instead of every pod
 * "dying" after the expiry for want of news.
 */
final class OutageClock {

    private volatile long frozenAtNanos;

    private volatile boolean frozen;

    /** The clock's time when the monotonic clock reads {@code nowNanos}. */
    long at(long nowNanos) {
        return this.frozen ? this.frozenAtNanos : nowNanos;
    }

    /** @return whether this call started the outage */
    synchronized boolean freeze() {
        if (this.frozen) {
            return false;
        }
        this.frozenAtNanos = System.nanoTime();
        this.frozen = true;
        return true;
    }

    /** @return whether this call ended an outage */
    synchronized boolean thaw() {
        boolean wasFrozen = this.frozen;
        this.frozen = false;
        return wasFrozen;
    }

    boolean isFrozen() {
        return this.frozen;
    }
}
