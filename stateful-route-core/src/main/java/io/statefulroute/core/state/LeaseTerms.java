package io.statefulroute.core.state;

import java.time.Duration;

import io.statefulroute.core.InvalidRouteArgumentException;

/**
 * The lease timings a pod runs with, published with each of its heartbeats so that every
 * gateway judges the pod by the pod's own settings, whatever the gateway is configured with:
 * the pod is dead {@code podExpiry} after its last heartbeat (on Redis' clock), and its users
 * move no sooner than {@code relinkGrace} later still.
 *
 * <p>In the pod's entry: one field {@code "<pod expiry ms>,<relink grace ms>"}, after the
 * address (empty when the pod advertises none).
 *
 * @param podExpiry how long after its last heartbeat the pod counts as dead
 * @param relinkGrace how much longer gateways wait before moving its users elsewhere
 */
public record LeaseTerms(Duration podExpiry, Duration relinkGrace) {

    /** Longest expiry or grace an entry may state: a day, so a garbage field cannot pin users forever. */
    private static final long MAX_MILLIS = Duration.ofDays(1).toMillis();

    public LeaseTerms {
        if (podExpiry == null || podExpiry.isNegative() || podExpiry.isZero() || podExpiry.toMillis() > MAX_MILLIS) {
            throw new InvalidRouteArgumentException("podExpiry", podExpiry + " must be positive and at most a day");
        }
        if (relinkGrace == null || relinkGrace.isNegative() || relinkGrace.toMillis() > MAX_MILLIS) {
            throw new InvalidRouteArgumentException("relinkGrace", relinkGrace + " must be >= 0 and at most a day");
        }
    }

    /** How long after its last heartbeat the pod's users may move: the expiry plus the grace. */
    public Duration silenceBeforeRelink() {
        return this.podExpiry.plus(this.relinkGrace);
    }

    /** The terms as one field of a pod entry. */
    public String toEntryField() {
        return this.podExpiry.toMillis() + "," + this.relinkGrace.toMillis();
    }

    /**
     * Reads a field written by {@link #toEntryField()}.
     * @throws IllegalArgumentException when the field is not such terms
     */
    public static LeaseTerms fromEntryField(String field) {
        int comma = field.indexOf(',');
        if (comma < 1 || comma == field.length() - 1 || comma > 9 || field.length() - comma > 10) {
            throw new IllegalArgumentException("Not lease terms: " + field);
        }
        try {
            return new LeaseTerms(Duration.ofMillis(digits(field, 0, comma)),
                    Duration.ofMillis(digits(field, comma + 1, field.length())));
        }
        catch (InvalidRouteArgumentException ex) {
            throw new IllegalArgumentException("Not lease terms: " + field, ex);
        }
    }

    private static long digits(String text, int from, int to) {
        long value = 0;
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                throw new IllegalArgumentException("Not lease terms: " + text);
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }
}
