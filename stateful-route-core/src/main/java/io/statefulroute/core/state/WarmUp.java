package io.statefulroute.core.state;

import java.time.Duration;

import io.statefulroute.core.InvalidRouteArgumentException;

/**
 * How a pod that just became routable ramps up to its full share of new users, as Envoy's slow
 * start does: for {@code duration} after it became routable (started, or back to {@code READY}),
 * gateways give it a new user they picked for it only with the probability
 * {@code max(minimumWeight, (elapsed / duration) ^ (1 / aggression))}, and pick among the other
 * pods otherwise. Published with each heartbeat, with the moment the pod became routable on
 * Redis' clock, so that every gateway ramps it alike.
 *
 * @param duration how long the ramp lasts; zero for none
 * @param aggression how fast the weight rises: 1 is linear, more front-loads it, less holds it
 * back; positive
 * @param minimumWeight the weight the ramp starts from, 0..1
 */
public record WarmUp(Duration duration, double aggression, double minimumWeight) {

    /** No warm-up: a pod takes its full share from the start. */
    public static final WarmUp NONE = new WarmUp(Duration.ZERO, 1, 1);

    /** Longest warm-up: a day, so a garbage field cannot hold a pod back for longer. */
    private static final long MAX_MILLIS = Duration.ofDays(1).toMillis();

    public WarmUp {
        if (duration == null || duration.isNegative() || duration.toMillis() > MAX_MILLIS) {
            throw new InvalidRouteArgumentException("duration", duration + " must be >= 0 and at most a day");
        }
        if (!(aggression > 0) || Double.isInfinite(aggression)) {
            throw new InvalidRouteArgumentException("aggression", aggression + " must be a positive number");
        }
        if (!(minimumWeight >= 0 && minimumWeight <= 1)) {
            throw new InvalidRouteArgumentException("minimumWeight", minimumWeight + " must be between 0 and 1");
        }
    }

    /** A linear ramp over the duration from a tenth of the pod's share, Envoy's defaults. */
    public static WarmUp linear(Duration duration) {
        return new WarmUp(duration, 1, 0.1);
    }

    /** Whether there is a ramp at all. */
    public boolean isEnabled() {
        return !this.duration.isZero();
    }

    /**
     * The pod's weight {@code elapsedMillis} after it became routable: 1 once the ramp is over
     * (or without one), never below the minimum weight before.
     */
    public double weight(long elapsedMillis) {
        long durationMillis = this.duration.toMillis();
        if (elapsedMillis >= durationMillis) {
            return 1;
        }
        double ramp = Math.pow(Math.max(0, elapsedMillis) / (double) durationMillis, 1 / this.aggression);
        return Math.max(this.minimumWeight, ramp);
    }
}
