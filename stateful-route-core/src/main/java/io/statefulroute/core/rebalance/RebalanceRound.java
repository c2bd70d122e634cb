package io.statefulroute.core.rebalance;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one round of a {@link Rebalancer} saw, proposed and did.
 *
 * @param startedAt when the round began
 * @param decision what the round found
 * @param users users this pod held when the round began
 * @param mean mean user count of the routable pods that publish one, this pod included; NaN
 * when the round read no such pods
 * @param pods how many pods that mean is over
 * @param proposed moves proposed, by target pod, neediest first
 * @param accepted moves the application consented to
 * @param refused moves the application refused
 * @param moved users handed off to their target
 * @param failed consented moves that did not happen (hand-off refused or failed, user gone)
 * @param took how long the round took, pacing included
 */
public record RebalanceRound(Instant startedAt, Decision decision, int users, double mean, int pods,
        Map<Integer, Integer> proposed, int accepted, int refused, int moved, int failed, Duration took) {

    public RebalanceRound {
        proposed = Collections.unmodifiableMap(new LinkedHashMap<>(proposed));
    }

    /** What a round found. */
    public enum Decision {

        /** Rebalancing is switched off: nothing was read. */
        DISABLED,

        /** This pod is not running, not READY (draining) or has no live lease: it sheds nothing. */
        NOT_READY,

        /** The service's pods could not be read from Redis. */
        NO_VIEW,

        /** No other routable pod publishes a user count: nothing to compare with. */
        NO_PEERS,

        /** This pod is within the tolerance above the mean (or below it). */
        BALANCED,

        /** This pod is above the mean, but no pod below it has room. */
        NO_ROOM,

        /** This pod is above the mean: moves were proposed. */
        PROPOSED
    }

    /** How many moves were proposed in all. */
    public int proposedMoves() {
        return this.proposed.values().stream().mapToInt(Integer::intValue).sum();
    }

    static RebalanceRound skipped(Instant startedAt, Decision decision, int users) {
        return new RebalanceRound(startedAt, decision, users, Double.NaN, 0, Map.of(), 0, 0, 0, 0, Duration.ZERO);
    }
}
