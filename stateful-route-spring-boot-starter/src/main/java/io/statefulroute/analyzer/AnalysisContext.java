package io.statefulroute.analyzer;

import java.util.Map;

import io.micrometer.core.instrument.MeterRegistry;

/**
 * What a {@link PerformanceRule} sees during one analysis: the meter registry, the increase of
 * cumulative counts over the analyzer's window, and a place for the numbers behind its
 * verdict (they go into the report whether or not anything is found).
 */
public final class AnalysisContext {

    private final MeterRegistry registry;

    private final CountHistory history;

    private final long nowNanos;

    private final Map<String, Double> measurements;

    AnalysisContext(MeterRegistry registry, CountHistory history, long nowNanos, Map<String, Double> measurements) {
        this.registry = registry;
        this.history = history;
        this.nowNanos = nowNanos;
        this.measurements = measurements;
    }

    /** The registry the meters are read from. */
    public MeterRegistry registry() {
        return this.registry;
    }

    /**
     * How much a cumulative count (a counter, a timer's count) grew over the analyzer's window:
     * since the last analysis at least one window ago, or since it was first seen (counts
     * start at zero) while the history is younger than the window.
     * @param key names the count, unique among all rules, e.g. {@code "redis.errors"}
     * @param cumulative the count's current value
     */
    public double increase(String key, double cumulative) {
        return this.history.increase(key, cumulative, this.nowNanos);
    }

    /** Records a number behind this rule's verdict, shown in the report. */
    public void measure(String name, double value) {
        if (Double.isFinite(value)) {
            this.measurements.put(name, value);
        }
    }

}
