package io.statefulroute.core.state;

/**
 * The monotonic clock pod liveness is judged by. While Redis is unreachable it stands still
 * at Redis' last answer before the outage: nobody can publish or read heartbeats then, so pods
 * alive at that moment stay alive and cached routes keep answering, instead of every pod
 * "dying" after the expiry for want of news. After the outage, heartbeats older than its
 * end are not blamed for it: the first read after Redis returns may come before the pods'
 * next heartbeat, and would otherwise show every pod dead for a moment.
 *
 * <p>An outage counts from Redis' last answer, not from when a failed read noticed it: that
 * read fails only after the command timeout (later on a busy machine), and pods whose last
 * heartbeat was already that old when the outage was noticed would otherwise be dead while it
 * lasts and right after it, moving their users to other pods.
 */
final class OutageClock {

    private volatile long frozenAtNanos;

    private volatile boolean frozen;

    /** When Redis last answered (monotonic), zero before it ever did. */
    private volatile long lastAnswerNanos;

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

    /** Redis answered: an outage noticed later counts from now at the latest. */
    void answered() {
        this.lastAnswerNanos = System.nanoTime();
    }

    /** Starts the outage at Redis' last answer (or now, if it never answered). @return whether this call started it */
    synchronized boolean freeze() {
        if (this.frozen) {
            return false;
        }
        long lastAnswer = this.lastAnswerNanos;
        this.frozenAtNanos = (lastAnswer != 0) ? lastAnswer : System.nanoTime();
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
