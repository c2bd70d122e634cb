package io.statefulroute.analyzer;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Samples of cumulative counts taken at each analysis, so that rules judge rates over a
 * recent window rather than since the application started.
 */
final class CountHistory {

    private final long windowNanos;

    private final Map<String, Deque<long[]>> samples = new HashMap<>();

    CountHistory(long windowNanos) {
        this.windowNanos = windowNanos;
    }

    /**
     * The increase since the last sample taken at least one window ago, or since zero (counts
     * start at zero) while the history is younger than the window. Not thread-safe: the
     * analyzer runs one analysis at a time.
     */
    double increase(String key, double cumulative, long nowNanos) {
        Deque<long[]> history = this.samples.computeIfAbsent(key, (k) -> new ArrayDeque<>());
        long windowStart = nowNanos - this.windowNanos;
        while (history.size() >= 2 && secondOldest(history)[0] - windowStart <= 0) {
            history.removeFirst();
        }
        long[] oldest = history.peekFirst();
        double baseline = (oldest != null && oldest[0] - windowStart <= 0) ? Double.longBitsToDouble(oldest[1]) : 0;
        history.addLast(new long[] { nowNanos, Double.doubleToLongBits(cumulative) });
        // a count below its baseline was reset (meter re-registered): count it from zero
        return (cumulative >= baseline) ? cumulative - baseline : cumulative;
    }

    private static long[] secondOldest(Deque<long[]> history) {
        Iterator<long[]> iterator = history.iterator();
        iterator.next();
        return iterator.next();
    }

}
