package io.statefulroute.analyzer;

/**
 * One problem a {@link PerformanceRule} found, with the number behind it.
 *
 * @param rule id of the rule that found it
 * @param severity how urgent it is
 * @param subject what it is about, e.g. {@code "prod/chat"}, {@code "link cache"}, {@code "redis"}
 * @param measured the measured value, in base units (seconds, ratios, counts)
 * @param threshold the configured limit it crossed, in the same unit
 * @param message what was measured, in words
 * @param suggestion what to do about it
 */
public record Finding(String rule, Severity severity, String subject, double measured, double threshold,
        String message, String suggestion) {

    /** What identifies this finding from one analysis to the next: rule and subject. */
    public String key() {
        return this.rule + " " + this.subject;
    }

}
