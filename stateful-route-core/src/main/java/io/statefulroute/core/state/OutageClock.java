package io.statefulroute.core.state;

/**
 * The monotonic clock pod liveness is judged by. While Redis is unreachable it stands still
 * at the moment the outage was noticed: nobody can publish or read heartbeats then, so pods
 * alive at that moment stay alive and cached routes keep answering, instead of every pod
 * "dying" after the expiry for want of news. After the outage, heartbeats older than its
 * end are not blamed for it: the first read after Redis returns may come before the pods'
 * next heartbeat, and would otherwise show every pod dead for a moment.
 */
final class OutageClock {

    private volatile long frozenAtNanos;

    private volatile boolean frozen;

    /** Length and end (local monotonic time) of the last outage; zero length before any. */
    private volatile Outage lastOutage = new Outage(0, 0);

    record Outage(long lengthMillis, long endedAtNanos) {
    }

    /** The clock's time when the monotonic clock reads {@code nowNanos}. */
    long at(long nowNanos) {
        return this.frozen ? this.frozenAtNanos : nowNanos;
    }

    Outage lastOutage() {
        return this.lastOutage;
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
        if (!this.frozen) {
            return false;
        }
        long now = System.nanoTime();
        this.lastOutage = new Outage((now - this.frozenAtNanos) / 1_000_000, now);
        this.frozen = false;
        return true;
    }

    boolean isFrozen() {
        return this.frozen;
    }
}
