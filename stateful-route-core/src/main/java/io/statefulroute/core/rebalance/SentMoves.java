package io.statefulroute.core.rebalance;

import java.util.HashMap;
import java.util.Map;

/**
 * The users this pod moved lately, by target pod. A pod counts a user only once the user has
 * arrived and the pod heartbeats again, so until then a moved user would count on neither
 * side, the mean would look lower, and this pod would shed again what it just shed. So a
 * target counts, in this pod's eyes, at least what it held when the moves began plus the
 * users moved to it since, until its published count shows more or the last move is
 * {@link #settleNanos} old (users that take longer to arrive count on neither side again).
 * Used by one round at a time.
 */
final class SentMoves {

    private final long settleNanos;

    private final Map<Integer, Target> targets = new HashMap<>();

    private static final class Target {

        private final int baseline;

        private int sent;

        private long lastSentAt;

        private Target(int baseline) {
            this.baseline = baseline;
        }
    }

    SentMoves(long settleNanos) {
        this.settleNanos = settleNanos;
    }

    /** The users the target holds as best known, given the count it published. */
    int estimate(int podIndex, int published, long nowNanos) {
        Target target = this.targets.get(podIndex);
        if (target == null) {
            return published;
        }
        if (nowNanos - target.lastSentAt > this.settleNanos) {
            this.targets.remove(podIndex);
            return published;
        }
        return Math.max(published, target.baseline + target.sent);
    }

    /** A user moved to the pod, which held {@code baseline} users as this round knew. */
    void sent(int podIndex, int baseline, long nowNanos) {
        Target target = this.targets.computeIfAbsent(podIndex, (index) -> new Target(baseline));
        target.sent++;
        target.lastSentAt = nowNanos;
    }
}
