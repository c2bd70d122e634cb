package io.statefulroute.it;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The samples of one scrape of {@code /actuator/prometheus} (Prometheus' text format), read
 * the way Prometheus reads them: series name, labels, value.
 */
record PrometheusScrape(List<Sample> samples) {

    private static final Pattern LINE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})?\\s+(\\S+)(?:\\s+-?\\d+)?");

    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

    /** One series' value. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    /**
     * Parses a scrape.
     * @throws IllegalArgumentException on a line that is neither a comment nor a sample
     */
    static PrometheusScrape parse(String text) {
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher sample = LINE.matcher(line.strip());
            if (!sample.matches()) {
                throw new IllegalArgumentException("not a sample: " + line);
            }
            Map<String, String> labels = new LinkedHashMap<>();
            if (sample.group(2) != null) {
                Matcher label = LABEL.matcher(sample.group(2));
                int end = 0;
                while (label.lookingAt()) {
                    labels.put(label.group(1), label.group(2).replace("\\\"", "\"").replace("\\\\", "\\"));
                    end = label.end();
                    label.region(end, sample.group(2).length());
                }
                if (end != sample.group(2).length()) {
                    throw new IllegalArgumentException("bad labels: " + line);
                }
            }
            samples.add(new Sample(sample.group(1), labels, value(sample.group(3))));
        }
        return new PrometheusScrape(List.copyOf(samples));
    }

    private static double value(String text) {
        return switch (text) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(text);
        };
    }

    /** The samples of a series name, e.g. {@code statefulroute_routing_decisions_seconds_count}. */
    List<Sample> named(String name) {
        return this.samples.stream().filter((s) -> s.name().equals(name)).toList();
    }

    /** The sum of the samples of a series name whose labels include the given ones. */
    double sum(String name, Map<String, String> labels) {
        return named(name).stream()
            .filter((s) -> s.labels().entrySet().containsAll(labels.entrySet()))
            .mapToDouble(Sample::value)
            .sum();
    }

    /** The largest of the samples of a series name whose labels include the given ones; NaN if none. */
    double max(String name, Map<String, String> labels) {
        return named(name).stream()
            .filter((s) -> s.labels().entrySet().containsAll(labels.entrySet()))
            .mapToDouble(Sample::value)
            .max()
            .orElse(Double.NaN);
    }

}
