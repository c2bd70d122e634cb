package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.Map;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.state.LeaseTerms;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.PodPlacement;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.WarmUp;

/**
 * Reads the values stateful-route keeps in Redis: the one place that knows their layout, and
 * {@code common.lua}'s {@code pod_of} its mirror for scripts.
 *
 * <h2>Compatibility rule for rolling upgrades</h2>
 * Several versions of the library read and write the same entries while a rollout runs, so:
 * <ul>
 * <li>a value is colon-separated fields; readers use the fields they know and ignore any
 * further trailing fields;
 * <li>a newer version only <em>appends</em> fields, percent-encoded so they contain no
 * {@code :}, and never changes the meaning of an existing one;
 * <li>a newer version may add routing states: older readers give such a pod no new users and
 * keep its users linked to it while its heartbeat time (which they can read) is fresh;
 * <li>whatever a reader cannot understand is skipped and counted in {@link SkippedEntries},
 * never fatal for the rest of the service; a script never fails on a field it did not write.
 * </ul>
 * Pod entry (field = pod index 0..{@value RouteArguments#MAX_POD_INDEX}):
 * {@code <updatedMs>:<routing state>:<load score>[:<address>[:<lease terms>[:<users>[:<warm-up>[:<more>...]]]]]},
 * the address as {@link PodAddress#toEntryField()} writes it (empty for none), the terms as
 * {@link LeaseTerms#toEntryField()} does (empty for none), the users the pod holds and its
 * capacity as {@link #usersField} does, and when it became routable and its warm-up, the latter
 * as {@link #warmUpField} does (an unreadable address, terms, users or warm-up field is counted
 * and read as none). Link (one string key per user and service, temporary when it has a TTL):
 * {@code <pod>[:<more>...]}.
 */
final class EntryFormat {

    /** Longest number of digits of a time in millis a script can compare exactly (doubles). */
    private static final int MAX_TIME_DIGITS = 15;

    /** Longest number of digits of a user count or limit (an int). */
    private static final int MAX_COUNT_DIGITS = 10;

    private static final RoutingState[] STATES = RoutingState.values();

    private EntryFormat() {
    }

    /**
     * One pod's entry, or null when it is not understood (counted in {@code skipped}). An entry
     * whose routing state is unknown but whose update time reads goes into {@code unreadable}
     * (pod index to update time): its pod is alive for all this version can tell.
     * @param where namespace/service, for the log
     */
    static PodState parsePodEntry(String podField, String value, SkippedEntries skipped, String where,
            Map<Integer, Long> unreadable) {
        int podIndex = parsePodIndex(podField, 0, podField.length());
        int first = value.indexOf(':');
        int second = (first < 0) ? -1 : value.indexOf(':', first + 1);
        if (podIndex < 0 || second < 0) {
            skipped.skipped(SkippedEntries.Kind.MALFORMED_POD_ENTRY, where, podField + "=" + value);
            return null;
        }
        int third = value.indexOf(':', second + 1);
        long updated = parseDigits(value, 0, first, MAX_TIME_DIGITS);
        double load = parseLoad(value.substring(second + 1, (third < 0) ? value.length() : third));
        if (updated < 0 || !(load >= 0) || Double.isInfinite(load)) {
            skipped.skipped(SkippedEntries.Kind.MALFORMED_POD_ENTRY, where, podField + "=" + value);
            return null;
        }
        RoutingState state = routingState(value, first + 1, second);
        if (state == null) {
            skipped.skipped(SkippedEntries.Kind.UNKNOWN_ROUTING_STATE, where, podField + "=" + value);
            unreadable.put(podIndex, updated);
            return null;
        }
        int fourth = (third < 0) ? -1 : value.indexOf(':', third + 1);
        int fifth = (fourth < 0) ? -1 : value.indexOf(':', fourth + 1);
        int sixth = (fifth < 0) ? -1 : value.indexOf(':', fifth + 1);
        int seventh = (sixth < 0) ? -1 : value.indexOf(':', sixth + 1);
        PodAddress address = address(value, third, fourth, skipped, where, podField);
        LeaseTerms terms = leaseTerms(value, fourth, fifth, skipped, where, podField);
        String usersField = field(value, fifth, sixth);
        Users users = (usersField != null) ? parseUsers(usersField) : NO_USERS;
        String warmUpField = field(value, sixth, seventh);
        WarmUpSince warmUp = (warmUpField != null) ? parseWarmUp(warmUpField) : NO_WARM_UP;
        if (users == null || warmUp == null) {
            skipped.skipped(SkippedEntries.Kind.MALFORMED_POD_ENTRY, where, podField + "=" + value);
            users = (users != null) ? users : NO_USERS;
            warmUp = (warmUp != null) ? warmUp : NO_WARM_UP;
        }
        return new PodState(podIndex, load, state, updated, address, terms, users.count(), users.capacity(),
                warmUp.routableSinceMillis(), warmUp.warmUp());
    }

    private record Users(int count, PodCapacity capacity) {
    }

    private static final Users NO_USERS = new Users(-1, PodCapacity.UNLIMITED);

    private record WarmUpSince(long routableSinceMillis, WarmUp warmUp) {
    }

    private static final WarmUpSince NO_WARM_UP = new WarmUpSince(-1, WarmUp.NONE);

    /**
     * The seventh field: {@code <routable since ms>,<duration ms>,<aggression>,<minimum weight>}
     * (later versions may append more after a comma), the first stamped by the heartbeat script on
     * Redis' clock, the rest as {@link #warmUpField} writes them; null when it cannot be read.
     */
    private static WarmUpSince parseWarmUp(String field) {
        String[] parts = field.split(",", -1);
        if (parts.length < 4) {
            return null;
        }
        long since = parseDigits(parts[0], 0, parts[0].length(), MAX_TIME_DIGITS);
        long duration = parseDigits(parts[1], 0, parts[1].length(), MAX_TIME_DIGITS);
        if (since < 0 || duration < 0) {
            return null;
        }
        try {
            return new WarmUpSince(since,
                    new WarmUp(Duration.ofMillis(duration), parseLoad(parts[2]), parseLoad(parts[3])));
        }
        catch (InvalidRouteArgumentException ex) {
            return null;
        }
    }

    /**
     * The warm-up's part of the seventh field of a pod entry, {@code <duration ms>,<aggression>,
     * <minimum weight>}; the heartbeat script puts when the pod became routable before it.
     */
    static String warmUpField(WarmUp warmUp) {
        return warmUp.duration().toMillis() + "," + warmUp.aggression() + "," + warmUp.minimumWeight();
    }

    /**
     * The sixth field as {@link #usersField} writes it (later versions may append more after a
     * comma), or null when it cannot be read.
     */
    private static Users parseUsers(String field) {
        String[] parts = field.split(",", -1);
        long users = parseDigits(parts[0], 0, parts[0].length(), MAX_COUNT_DIGITS);
        if (users < 0 || users > Integer.MAX_VALUE) {
            return null;
        }
        if (parts.length == 1) {
            return new Users((int) users, PodCapacity.UNLIMITED);
        }
        if (parts.length < 3) {
            return null;
        }
        long maxUsers = parts[1].isEmpty() ? Integer.MAX_VALUE
                : parseDigits(parts[1], 0, parts[1].length(), MAX_COUNT_DIGITS);
        double maxLoad = parts[2].isEmpty() ? Double.POSITIVE_INFINITY : parseLoad(parts[2]);
        if (maxUsers < 1 || maxUsers > Integer.MAX_VALUE || !(maxLoad > 0)) {
            return null;
        }
        return new Users((int) users, new PodCapacity((int) maxUsers, maxLoad));
    }

    /**
     * The sixth field of a pod entry, the users the pod holds and its capacity: the count alone
     * when the pod declares no capacity, else {@code <users>,<max users>,<max load>} with a limit
     * it does not declare left empty.
     */
    static String usersField(PodPlacement placement) {
        PodCapacity capacity = placement.capacity();
        if (!capacity.isLimited()) {
            return Integer.toString(placement.users());
        }
        return placement.users() + "," + (capacity.limitsUsers() ? Integer.toString(capacity.maxUsers()) : "") + ","
                + (Double.isInfinite(capacity.maxLoad()) ? "" : Double.toString(capacity.maxLoad()));
    }

    /**
     * The fourth field, the address the pod advertises; null when absent or empty. One that
     * cannot be read is counted and taken as none: the pod still routes by index.
     */
    private static PodAddress address(String value, int third, int fourth, SkippedEntries skipped, String where,
            String podField) {
        String field = field(value, third, fourth);
        if (field == null) {
            return null;
        }
        try {
            return PodAddress.fromEntryField(field);
        }
        catch (IllegalArgumentException ex) {
            skipped.skipped(SkippedEntries.Kind.MALFORMED_POD_ENTRY, where, podField + "=" + value);
            return null;
        }
    }

    /**
     * The fifth field, the pod's lease terms; null when absent. One that cannot be read is
     * counted and taken as none: gateways then judge the pod by their own settings.
     */
    private static LeaseTerms leaseTerms(String value, int fourth, int fifth, SkippedEntries skipped, String where,
            String podField) {
        String field = field(value, fourth, fifth);
        if (field == null) {
            return null;
        }
        try {
            return LeaseTerms.fromEntryField(field);
        }
        catch (IllegalArgumentException ex) {
            skipped.skipped(SkippedEntries.Kind.MALFORMED_POD_ENTRY, where, podField + "=" + value);
            return null;
        }
    }

    /** The field after the separator at {@code from} up to the one at {@code to} (-1: the end); null if empty or absent. */
    private static String field(String value, int from, int to) {
        if (from < 0) {
            return null;
        }
        String field = value.substring(from + 1, (to < 0) ? value.length() : to);
        return field.isEmpty() ? null : field;
    }

    /**
     * Pod of a link value (Redis expires the link itself), -1 if absent or not understood
     * (counted in {@code skipped}). Mirrors {@code pod_of} in {@code common.lua}, and
     * {@code link_if_absent.lua}'s copy of it.
     */
    static int linkPod(String value, SkippedEntries skipped, String where) {
        if (value == null) {
            return -1;
        }
        int sep = value.indexOf(':');
        int pod = parsePodIndex(value, 0, (sep < 0) ? value.length() : sep);
        if (pod < 0) {
            skipped.skipped(SkippedEntries.Kind.MALFORMED_LINK, where, value);
        }
        return pod;
    }

    /** A pod index (1 to 5 decimal digits, at most {@value RouteArguments#MAX_POD_INDEX}), or -1. */
    private static int parsePodIndex(String text, int from, int to) {
        long pod = parseDigits(text, from, to, 5);
        return (pod >= 0 && pod <= RouteArguments.MAX_POD_INDEX) ? (int) pod : -1;
    }

    /** Decimal digits only, 1 to {@code maxDigits} of them; -1 otherwise. */
    private static long parseDigits(String text, int from, int to, int maxDigits) {
        if (to - from < 1 || to - from > maxDigits) {
            return -1;
        }
        long value = 0;
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    private static double parseLoad(String text) {
        // Double.parseDouble takes "NaN", hex and type suffixes; a load score is a plain decimal
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!((c >= '0' && c <= '9') || c == '.' || c == 'E' || c == 'e' || c == '-' || c == '+')) {
                return Double.NaN;
            }
        }
        try {
            return Double.parseDouble(text);
        }
        catch (NumberFormatException ex) {
            return Double.NaN;
        }
    }

    private static RoutingState routingState(String value, int from, int to) {
        for (RoutingState state : STATES) {
            if (state.name().length() == to - from && value.startsWith(state.name(), from)) {
                return state;
            }
        }
        return null;
    }
}
