package io.statefulroute.it;

import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * The PromQL check the dashboard and rules tests rely on: it accepts PromQL and refuses what
 * Prometheus would refuse to load.
 */
class PromQlTests {

    @ParameterizedTest
    @ValueSource(strings = { "up", "-1 + 2 ^ 3 ^ 2 > bool 1", "rate(http_requests_total{job=~\"a|b\", code!=\"500\"}[5m] offset 1h)",
            "sum without (instance) (rate(x[1h30m])) / on (job) group_left (team) max by (job, team) (y)",
            "topk(3, sum by (path) (rate(x_total[5m])))", "histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))",
            "max_over_time(rate(x[1m])[10m:30s])", "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")",
            "x and y or z unless w", "avg(x) by (a,)", "{__name__=~\"job:.*\"} @ end()", "clamp_min(x, 0) * 2 % 3",
            "round(x)", "round(x, 0.5)", "label_join(up, \"d\", \",\", \"a\", \"b\", \"c\")", "(x)" })
    void acceptsPromQl(String query) {
        PromQl.parse(query);
    }

    @ParameterizedTest
    @ValueSource(strings = { "sum(rate(x[5m])", "sum(rate(x[5m])))", "rat(x[5m])", "rate(x)", "sum(x[5m])",
            "x{a=\"b}", "x{a~\"b\"}", "x +", "x[5x]", "sum by outcome (x)", "1 > 2", "x[5m] > 1", "(x)[5m]",
            "x and 1", "clamp_min(x)", "round(x, 1, 2)", "rate(x[5m]) $y", "x offset", "max by (a) (x) by (b)",
            "5m", "quantile(x)", "topk(3)" })
    void refusesWhatPrometheusRefuses(String query) {
        assertThatIllegalArgumentException().isThrownBy(() -> PromQl.parse(query));
    }

    @Test
    void reportsSelectorsAndGroupings() {
        PromQl.Query query = PromQl.parse("sum by (outcome) (rate(a_total{cache=\"links\", result=\"hit\"}[5m]))"
                + " / ignoring (result) sum by (outcome) (rate(a_total{cache=\"links\"}[5m])) > 0.8");
        assertThat(query.type()).isEqualTo(PromQl.Type.VECTOR);
        assertThat(query.selectors()).extracting(PromQl.Selector::metric).containsExactly("a_total", "a_total");
        assertThat(query.selectors().get(0).matchers()).containsExactly(new PromQl.Matcher("cache", "=", "links"),
                new PromQl.Matcher("result", "=", "hit"));
        assertThat(query.groupings()).extracting(PromQl.Grouping::labels).containsExactly(List.of("outcome"),
                List.of("outcome"));
        assertThat(query.groupings().get(1).selectors()).containsExactly(query.selectors().get(1));
    }

}
