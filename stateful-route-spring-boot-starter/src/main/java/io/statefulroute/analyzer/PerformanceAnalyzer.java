package io.statefulroute.analyzer;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.micrometer.core.instrument.MeterRegistry;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link PerformanceRule}s over the meters of a {@link MeterRegistry} and turns them into a
 * {@link PerformanceReport}. A finding is logged at WARN when it first appears, and at INFO
 * when it is gone; a rule that fails is logged and skipped.
 */
public class PerformanceAnalyzer {

    private static final Logger logger = LoggerFactory.getLogger(PerformanceAnalyzer.class);

    private final MeterRegistry registry;

    private final List<PerformanceRule> rules;

    private final CountHistory history;

    private final Clock clock;

    private Set<String> active = Set.of();

    private volatile @Nullable PerformanceReport lastReport;

    /**
     * Creates an analyzer.
     * @param registry where the meters are read from
     * @param rules the rules to run, in order
     * @param window span of recent history that counts are compared over
     */
    public PerformanceAnalyzer(MeterRegistry registry, List<? extends PerformanceRule> rules, Duration window) {
        this(registry, rules, window, Clock.systemUTC());
    }

    PerformanceAnalyzer(MeterRegistry registry, List<? extends PerformanceRule> rules, Duration window, Clock clock) {
        this.registry = registry;
        this.rules = List.copyOf(rules);
        this.history = new CountHistory(window.toNanos());
        this.clock = clock;
    }

    /** Runs every rule now. */
    public synchronized PerformanceReport analyze() {
        Map<String, Double> measurements = new TreeMap<>();
        AnalysisContext context = new AnalysisContext(this.registry, this.history, System.nanoTime(), measurements);
        List<Finding> findings = new ArrayList<>();
        for (PerformanceRule rule : this.rules) {
            try {
                findings.addAll(rule.evaluate(context));
            }
            catch (RuntimeException ex) {
                logger.warn("Performance rule {} failed", rule.id(), ex);
            }
        }
        findings.sort(Comparator.comparing(Finding::severity).reversed().thenComparing(Finding::key));
        logChanges(findings);
        PerformanceReport report = new PerformanceReport(this.clock.instant(), List.copyOf(findings),
                Map.copyOf(measurements));
        this.lastReport = report;
        return report;
    }

    private void logChanges(List<Finding> findings) {
        Set<String> now = new HashSet<>();
        for (Finding finding : findings) {
            now.add(finding.key());
            if (!this.active.contains(finding.key())) {
                logger.warn("stateful-route performance: {} [{}] {}: {} Suggestion: {}", finding.severity(),
                        finding.rule(), finding.subject(), finding.message(), finding.suggestion());
            }
        }
        for (String gone : this.active) {
            if (!now.contains(gone)) {
                logger.info("stateful-route performance: {} is resolved", gone);
            }
        }
        this.active = now;
    }

    /** The report of the last analysis, or null before the first. */
    public @Nullable PerformanceReport lastReport() {
        return this.lastReport;
    }

    /** The rules this analyzer runs. */
    public List<PerformanceRule> rules() {
        return this.rules;
    }

}
