package io.statefulroute.core.rebalance;

import java.time.Duration;

import io.statefulroute.core.InvalidRouteArgumentException;

/**
 * How a {@link Rebalancer} paces the moves it proposes.
 *
 * @param interval time between the end of one round and the start of the next, positive
 * @param tolerance how far above the mean of the routable pods' user counts this pod may be
 * before it sheds users, as a share of the mean (0.1: 10 % above), >= 0
 * @param maxShare largest share of this pod's users moved in one round, in (0, 1]
 * @param maxMovesPerSecond most hand-offs per second, at least 1; a round moves at most what
 * the interval allows at this rate
 */
public record RebalanceOptions(Duration interval, double tolerance, double maxShare, int maxMovesPerSecond) {

    /** The defaults: rounds every 5 s, 10 % tolerance, at most 10 % of the users per round, 20 moves/s. */
    public static final RebalanceOptions DEFAULTS = new RebalanceOptions(Duration.ofSeconds(5), 0.1, 0.1, 20);

    public RebalanceOptions {
        if (interval == null || interval.isNegative() || interval.isZero()) {
            throw new InvalidRouteArgumentException("interval", interval + " must be a positive duration");
        }
        if (!(tolerance >= 0 && tolerance < Double.POSITIVE_INFINITY)) {
            throw new InvalidRouteArgumentException("tolerance", tolerance + " must be >= 0");
        }
        if (!(maxShare > 0 && maxShare <= 1)) {
            throw new InvalidRouteArgumentException("maxShare", maxShare + " must be in (0, 1]");
        }
        if (maxMovesPerSecond < 1) {
            throw new InvalidRouteArgumentException("maxMovesPerSecond", maxMovesPerSecond + " must be at least 1");
        }
    }

    /**
     * Most moves one round of a pod holding {@code users} proposes: its share of the users (at
     * least 1), and no more than the rate allows in one interval (at least 1).
     */
    int movesPerRound(int users) {
        long byRate = Math.max(1, (long) (this.maxMovesPerSecond * (this.interval.toNanos() / 1e9)));
        long byShare = Math.max(1, (long) Math.floor(this.maxShare * users));
        return (int) Math.min(Integer.MAX_VALUE, Math.min(byRate, byShare));
    }
}
