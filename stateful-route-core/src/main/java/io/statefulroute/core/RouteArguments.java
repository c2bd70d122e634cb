package io.statefulroute.core;

/**
 * The rules every id, pod index and TTL must pass before stateful-route sends anything to
 * Redis. Public so that applications can check input at their own edge with the same rules.
 */
public final class RouteArguments {

    /** Longest namespace, service or uid accepted, in UTF-16 chars. */
    public static final int MAX_ID_LENGTH = 512;

    /** Largest pod index accepted; StatefulSets are far smaller, so anything above is a bug. */
    public static final int MAX_POD_INDEX = 65_535;

    /** TTL marker of a link that never expires. */
    public static final long PERSIST_FOREVER = -1;

    /** Longest temporary link accepted: 10 years, far beyond any sensible reservation. */
    public static final long MAX_TTL_SECONDS = 10L * 365 * 24 * 3600;

    private RouteArguments() {
    }

    /**
     * Checks a namespace, service or uid: not null, not blank, at most {@link #MAX_ID_LENGTH}
     * chars. Any other content (braces, colons, unicode) is allowed: keys encode it safely.
     * @return the id
     */
    public static String requireId(String argument, String id) {
        if (id == null) {
            throw new InvalidRouteArgumentException(argument, "must not be null");
        }
        if (id.length() > MAX_ID_LENGTH) {
            throw new InvalidRouteArgumentException(argument,
                    "is " + id.length() + " chars long, at most " + MAX_ID_LENGTH + " are allowed");
        }
        requireTextAndValidUnicode(argument, id);
        return id;
    }

    /**
     * One pass, as this runs on every routing call: not blank, and no unpaired surrogate, which
     * has no UTF-8 form (encoding would turn it into '?' and merge distinct ids).
     */
    private static void requireTextAndValidUnicode(String argument, String id) {
        boolean blank = true;
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < id.length() && Character.isLowSurrogate(id.charAt(i + 1))) {
                blank = false;
                i++;
            }
            else if (Character.isSurrogate(c)) {
                throw new InvalidRouteArgumentException(argument,
                        "has an unpaired surrogate at char " + i + ": not valid Unicode");
            }
            else if (blank && !Character.isWhitespace(c)) {
                blank = false;
            }
        }
        if (blank) {
            throw new InvalidRouteArgumentException(argument, "must not be blank");
        }
    }

    /** Checks a pod index: 0 (a real pod) up to {@link #MAX_POD_INDEX}. */
    public static int requirePodIndex(String argument, int podIndex) {
        if (podIndex < 0 || podIndex > MAX_POD_INDEX) {
            throw new InvalidRouteArgumentException(argument,
                    podIndex + " is outside 0.." + MAX_POD_INDEX);
        }
        return podIndex;
    }

    /** Checks a link TTL: {@link #PERSIST_FOREVER} or 1 up to {@link #MAX_TTL_SECONDS} seconds. */
    public static long requireTtlSeconds(String argument, long ttlSeconds) {
        if (ttlSeconds != PERSIST_FOREVER && (ttlSeconds <= 0 || ttlSeconds > MAX_TTL_SECONDS)) {
            throw new InvalidRouteArgumentException(argument, ttlSeconds
                    + " must be PERSIST_FOREVER (-1) or between 1 and " + MAX_TTL_SECONDS + " seconds");
        }
        return ttlSeconds;
    }

    /** Checks a grace period of a removed link: 0 (remove now) up to {@link #MAX_TTL_SECONDS}. */
    public static long requireGraceSeconds(String argument, long graceSeconds) {
        if (graceSeconds < 0 || graceSeconds > MAX_TTL_SECONDS) {
            throw new InvalidRouteArgumentException(argument,
                    graceSeconds + " must be between 0 (remove now) and " + MAX_TTL_SECONDS + " seconds");
        }
        return graceSeconds;
    }

    /** Longest workload state accepted, in chars. */
    public static final int MAX_WORKLOAD_LENGTH = 64 * 1024;

    /** Checks a workload state: present and at most {@link #MAX_WORKLOAD_LENGTH} chars. */
    public static String requireWorkload(String argument, String workload) {
        requireNonNull(argument, workload);
        if (workload.length() > MAX_WORKLOAD_LENGTH) {
            throw new InvalidRouteArgumentException(argument,
                    "is " + workload.length() + " chars long, at most " + MAX_WORKLOAD_LENGTH + " are allowed");
        }
        return workload;
    }

    /** Checks that a required object is present. */
    public static <T> T requireNonNull(String argument, T value) {
        if (value == null) {
            throw new InvalidRouteArgumentException(argument, "must not be null");
        }
        return value;
    }
}
