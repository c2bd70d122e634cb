package io.statefulroute.analyzer;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Result of one run of the {@link PerformanceAnalyzer}.
 *
 * @param analyzedAt when the analysis ran
 * @param findings what is wrong, most severe first; empty when all is well
 * @param measurements the numbers the rules looked at, by name (base units)
 */
public record PerformanceReport(Instant analyzedAt, List<Finding> findings, Map<String, Double> measurements) {

    /** The findings of one rule. */
    public List<Finding> findings(String rule) {
        return this.findings.stream().filter((finding) -> finding.rule().equals(rule)).toList();
    }

}
