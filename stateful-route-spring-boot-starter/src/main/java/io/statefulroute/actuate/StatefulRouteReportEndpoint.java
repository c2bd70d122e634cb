package io.statefulroute.actuate;

import io.statefulroute.analyzer.PerformanceAnalyzer;
import io.statefulroute.analyzer.PerformanceReport;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

/**
 * Actuator endpoint {@code statefulroutereport}: {@code GET /actuator/statefulroutereport}
 * runs the performance analyzer now and returns its findings (severity, measured value,
 * threshold, suggestion) and the numbers the rules looked at. Its own id, so that it never
 * collides with {@code GET /actuator/statefulroute/{service}}.
 */
@Endpoint(id = "statefulroutereport")
public class StatefulRouteReportEndpoint {

    private final PerformanceAnalyzer analyzer;

    /**
     * Creates the endpoint.
     * @param analyzer the analyzer each read runs
     */
    public StatefulRouteReportEndpoint(PerformanceAnalyzer analyzer) {
        this.analyzer = analyzer;
    }

    /** Analyzes the recorded metrics now. */
    @ReadOperation
    public PerformanceReport report() {
        return this.analyzer.analyze();
    }

}
