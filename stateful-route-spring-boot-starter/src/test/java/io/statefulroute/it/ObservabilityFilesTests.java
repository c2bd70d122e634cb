package io.statefulroute.it;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import static io.statefulroute.it.ObservabilityFiles.list;
import static io.statefulroute.it.ObservabilityFiles.map;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard and the alert rules under {@code docs/} parse, are complete, and query in
 * PromQL; {@link DashboardQueriesIntegrationTests} checks their metric names against running
 * applications.
 */
class ObservabilityFilesTests {

    private static final Pattern DOC_REFERENCE = Pattern.compile("See \"([^\"]+)\" in ([\\w./-]+\\.md)");

    private static final Pattern DURATION = Pattern.compile("([1-9]\\d*(ms|s|m|h|d|w|y))+");

    private static final String DATASOURCE = "${DS_PROMETHEUS}";

    @Test
    void everyQueryIsPromQlAnsweringAnInstantVector() {
        List<ObservabilityFiles.Query> queries = ObservabilityFiles.queries();
        List<String> failures = new ArrayList<>();
        for (ObservabilityFiles.Query query : queries) {
            try {
                PromQl.Query parsed = PromQl.parse(query.promql());
                if (parsed.type() != PromQl.Type.VECTOR) {
                    failures.add(query.where() + " answers a " + parsed.type());
                }
                if (parsed.selectors().isEmpty()) {
                    failures.add(query.where() + " reads no metric");
                }
            }
            catch (IllegalArgumentException ex) {
                failures.add(query.where() + ": " + ex.getMessage() + "\n  " + query.promql());
            }
        }
        assertThat(failures).isEmpty();
        assertThat(queries).hasSizeGreaterThan(ObservabilityFiles.panels().size() + ObservabilityFiles.alertRules().size());
    }

    @Test
    void everyRuleHasForSeveritySummaryAndADescriptionThatSaysWhereToReadOn() {
        List<Map<String, Object>> rules = ObservabilityFiles.alertRules();
        Set<String> names = new HashSet<>();
        assertThat(rules).isNotEmpty();
        for (Map<String, Object> rule : rules) {
            String name = (String) rule.get("alert");
            assertThat(name).as("alert name").matches("StatefulRoute[A-Za-z]+");
            assertThat(names.add(name)).as("%s is unique", name).isTrue();
            assertThat(rule.keySet()).as(name).containsExactlyInAnyOrder("alert", "expr", "for", "labels", "annotations");
            assertThat((String) rule.get("for")).as("%s for", name).matches(DURATION);
            assertThat(map(rule, "labels").get("severity")).as("%s severity", name).isIn("critical", "warning", "info");
            Map<String, Object> annotations = map(rule, "annotations");
            assertThat((String) annotations.get("summary")).as("%s summary", name).isNotBlank();
            String description = (String) annotations.get("description");
            assertThat(description).as("%s description", name).isNotBlank();
            Matcher reference = DOC_REFERENCE.matcher(description);
            assertThat(reference.find()).as("%s says where to read on: See \"<section>\" in docs/<page>.md", name)
                .isTrue();
            do {
                Path page = ObservabilityFiles.ROOT.resolve(reference.group(2));
                assertThat(page).as("%s refers to %s", name, reference.group(2)).isRegularFile();
                assertThat(headings(page)).as("%s refers to a section of %s", name, reference.group(2))
                    .contains(reference.group(1));
            }
            while (reference.find());
        }
    }

    @Test
    void prometheusRuleShipsTheRulesFilesGroups() {
        Map<String, Object> resource = ObservabilityFiles.yaml(ObservabilityFiles.PROMETHEUS_RULE);
        assertThat(resource).containsEntry("apiVersion", "monitoring.coreos.com/v1").containsEntry("kind", "PrometheusRule");
        assertThat(map(resource, "spec").get("groups")).isEqualTo(ObservabilityFiles.rules().get("groups"));
    }

    @Test
    void dashboardIsImportableWithItsPrometheusAsAnInputAndAVariable() {
        Map<String, Object> dashboard = ObservabilityFiles.dashboard();
        assertThat(list(dashboard, "__inputs")).singleElement()
            .satisfies((input) -> assertThat(input).containsEntry("name", "DS_PROMETHEUS")
                .containsEntry("type", "datasource")
                .containsEntry("pluginId", "prometheus"));
        List<Map<String, Object>> variables = list(map(dashboard, "templating"), "list");
        assertThat(variables).extracting((variable) -> variable.get("name"))
            .contains("DS_PROMETHEUS", "namespace", "service");
        assertThat(variables).filteredOn((variable) -> "DS_PROMETHEUS".equals(variable.get("name")))
            .singleElement()
            .satisfies((variable) -> assertThat(variable).containsEntry("type", "datasource")
                .containsEntry("query", "prometheus"));

        Set<Object> ids = new HashSet<>();
        for (Map<String, Object> panel : list(dashboard, "panels")) {
            String title = (String) panel.get("title");
            assertThat(title).isNotBlank();
            assertThat(ids.add(panel.get("id"))).as("id of %s is unique", title).isTrue();
            Map<String, Object> grid = map(panel, "gridPos");
            assertThat(((Number) grid.get("x")).intValue() + ((Number) grid.get("w")).intValue())
                .as("%s fits in 24 columns", title).isLessThanOrEqualTo(24);
            if ("row".equals(panel.get("type"))) {
                continue;
            }
            assertThat(map(panel, "datasource")).as(title).containsEntry("uid", DATASOURCE);
            assertThat(list(panel, "targets")).as(title).isNotEmpty()
                .allSatisfy((target) -> assertThat(map(target, "datasource")).containsEntry("uid", DATASOURCE));
            assertThat((String) panel.get("description")).as("%s says what it shows", title).isNotBlank();
        }
    }

    @Test
    void guideNamesEveryPanelAndAlert() {
        String guide = ObservabilityFiles.read(ObservabilityFiles.DOCS.resolve("observability/README.md"));
        assertThat(ObservabilityFiles.panels()).extracting((panel) -> (String) panel.get("title"))
            .allSatisfy((title) -> assertThat(guide).contains(title));
        assertThat(ObservabilityFiles.alertRules()).extracting((rule) -> (String) rule.get("alert"))
            .allSatisfy((alert) -> assertThat(guide).contains("`" + alert + "`"));
    }

    /** The headings of a Markdown file, without their #s (a comment in a code block is none). */
    private static List<String> headings(Path markdown) {
        List<String> headings = new ArrayList<>();
        boolean inCode = false;
        for (String line : ObservabilityFiles.read(markdown).lines().toList()) {
            if (line.startsWith("```")) {
                inCode = !inCode;
            }
            else if (!inCode && line.matches("#{1,6} .*")) {
                headings.add(line.replaceFirst("^#+ +", ""));
            }
        }
        return headings;
    }

}
