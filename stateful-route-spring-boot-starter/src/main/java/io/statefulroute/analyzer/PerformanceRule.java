package io.statefulroute.analyzer;

import java.util.List;

/**
 * A rule of the {@link PerformanceAnalyzer}: looks at the recorded metrics and reports what is
 * wrong. Define one as a bean to add it to the starter's analyzer. Implementations must be
 * thread-safe; they run on the analyzer's schedule and on each read of its endpoint, never two
 * at once.
 */
public interface PerformanceRule {

    /** Identifies the rule in findings and logs, e.g. {@code "link-cache-hit-rate"}. */
    String id();

    /**
     * Evaluates the rule.
     * @param context the meter registry, recent-history helpers, and where to put the
     * numbers behind the verdict
     * @return the findings, empty when all is well or when there is too little data to judge
     */
    List<Finding> evaluate(AnalysisContext context);

}
