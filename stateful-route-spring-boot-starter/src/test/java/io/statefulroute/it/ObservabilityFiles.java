package io.statefulroute.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The Grafana dashboard and the Prometheus alert rules under {@code docs/}, parsed strictly
 * (no duplicate keys), and every PromQL query in them.
 */
final class ObservabilityFiles {

    /** The repository, seen from the module directory the tests run in. */
    static final Path ROOT = Path.of("..");

    static final Path DOCS = ROOT.resolve("docs");

    static final Path DASHBOARD = DOCS.resolve("observability/grafana-dashboard.json");

    static final Path RULES = DOCS.resolve("observability/prometheus-rules.yaml");

    static final Path PROMETHEUS_RULE = DOCS.resolve("kubernetes/prometheus-rule.yaml");

    /** Grafana's {@code label_values(<selector>, <label>)} variable query. */
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\((.+),\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\)");

    /**
     * A PromQL query and where it is, with Grafana's interval variables replaced by a duration
     * (they stand where PromQL wants one); {@code labels} are labels the query must find beyond
     * its own matchers (a variable's {@code label_values}).
     */
    record Query(String where, String promql, List<String> labels) {
    }

    private ObservabilityFiles() {
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> dashboard() {
        JsonMapper json = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
        return json.readValue(read(DASHBOARD), Map.class);
    }

    static Map<String, Object> rules() {
        return yaml(RULES);
    }

    static Map<String, Object> yaml(Path file) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        return new Yaml(options).load(read(file));
    }

    /** Every alerting rule of the rules file, across its groups. */
    static List<Map<String, Object>> alertRules() {
        List<Map<String, Object>> rules = new ArrayList<>();
        for (Map<String, Object> group : list(rules(), "groups")) {
            rules.addAll(list(group, "rules"));
        }
        return rules;
    }

    /** Panels of the dashboard other than rows. */
    static List<Map<String, Object>> panels() {
        return list(dashboard(), "panels").stream().filter((panel) -> !"row".equals(panel.get("type"))).toList();
    }

    /** Every query of the dashboard's panels and variables and of the alert rules. */
    static List<Query> queries() {
        List<Query> queries = new ArrayList<>();
        for (Map<String, Object> panel : panels()) {
            for (Map<String, Object> target : list(panel, "targets")) {
                queries.add(new Query("panel '" + panel.get("title") + "' " + target.get("refId"),
                        grafanaIntervals((String) target.get("expr")), List.of()));
            }
        }
        for (Map<String, Object> variable : list(map(dashboard(), "templating"), "list")) {
            if ("query".equals(variable.get("type"))) {
                String definition = (String) map(variable, "query").get("query");
                Matcher labelValues = LABEL_VALUES.matcher(definition);
                if (!labelValues.matches()) {
                    throw new IllegalStateException("variable " + variable.get("name") + " is no label_values: " + definition);
                }
                queries.add(new Query("variable " + variable.get("name"), labelValues.group(1),
                        List.of(labelValues.group(2))));
            }
        }
        for (Map<String, Object> rule : alertRules()) {
            queries.add(new Query("alert " + rule.get("alert"), (String) rule.get("expr"), List.of()));
        }
        return queries;
    }

    private static String grafanaIntervals(String expression) {
        return expression.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h");
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Map<String, Object> parent, String key) {
        return (Map<String, Object>) parent.get(key);
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Map<String, Object> parent, String key) {
        return (List<Map<String, Object>>) parent.get(key);
    }

}
