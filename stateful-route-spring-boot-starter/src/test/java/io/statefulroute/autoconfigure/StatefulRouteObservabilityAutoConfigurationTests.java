package io.statefulroute.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import io.statefulroute.actuate.StatefulRouteMeterBinder;
import io.statefulroute.actuate.StatefulRouteReportEndpoint;
import io.statefulroute.analyzer.Finding;
import io.statefulroute.analyzer.PerformanceAnalyzer;
import io.statefulroute.analyzer.PerformanceReport;
import io.statefulroute.analyzer.PerformanceRule;
import io.statefulroute.analyzer.Severity;
import io.statefulroute.core.link.ClientOptions.CacheExpiry;
import io.statefulroute.core.link.RouteListener;
import io.statefulroute.core.link.RouteOutcome;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.lifecycle.PerformanceAnalyzerLifecycle;
import io.statefulroute.metrics.MicrometerRouteListener;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import io.statefulroute.tracing.ObservationRouteListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Metrics, observations and the performance analyzer as auto-configured, with Spring Boot's
 * own Micrometer auto-configuration, on a real Redis.
 */
@ExtendWith(OutputCaptureExtension.class)
class StatefulRouteObservabilityAutoConfigurationTests {

    private static final RedisServer redis = RedisServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class, MetricsAutoConfiguration.class,
                SimpleMetricsExportAutoConfiguration.class, CompositeMeterRegistryAutoConfiguration.class,
                StatefulRouteAutoConfiguration.class, StatefulRouteMetricsAutoConfiguration.class,
                StatefulRouteObservationAutoConfiguration.class, StatefulRouteAnalyzerAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
                "stateful-route.key-prefix=sr-obs-" + UUID.randomUUID().toString().substring(0, 8),
                "stateful-route.namespace=obs", "stateful-route.server.service=chat",
                "stateful-route.server.pod-index=0", "stateful-route.server.drain-period=0s",
                "stateful-route.state.refresh-period=100ms");

    @Test
    void executorClientAndLifecycleReportToMetricsAndObservations() {
        this.contextRunner.withBean(ObservationRegistry.class, TestObservationRegistry::create).run((context) -> {
            assertThat(context).hasSingleBean(MicrometerRouteListener.class)
                .hasSingleBean(ObservationRouteListener.class)
                .hasSingleBean(StatefulRouteMeterBinder.class)
                .hasSingleBean(PerformanceAnalyzer.class)
                .hasSingleBean(PerformanceAnalyzerLifecycle.class);
            StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
            await().atMost(Duration.ofSeconds(5)).until(client::isFollowingLinkChanges);
            // notices come by client tracking (auto): the link the first call creates is not cached, the second reads it
            client.computeLinkedPod("obs", "user-1", "chat");
            client.computeLinkedPod("obs", "user-1", "chat");
            client.computeLinkedPod("obs", "user-1", "chat");
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get("statefulroute.routing.decisions").tags("service", "chat", "outcome", "new_link")
                .timer().count()).isOne();
            assertThat(registry.get("statefulroute.routing.decisions").tags("outcome", "existing_link").timer().count())
                .isOne();
            assertThat(registry.get("statefulroute.routing.decisions").tags("outcome", "cache_hit").timer().count())
                .isOne();
            assertThat(registry.get("statefulroute.redis.operations")
                .tags("operation", "setLinkedPodIfAbsent", "outcome", "success")
                .timer()
                .count()).isEqualTo(2);
            assertThat(registry.get("statefulroute.heartbeat").tag("outcome", "success").timer().count()).isPositive();
            assertThat(registry.get("cache.gets").tags("cache", "statefulroute.links", "result", "hit")
                .functionCounter().count()).isOne();
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertThat(registry.get("statefulroute.state.refresh").tag("outcome", "success").timer().count())
                    .isPositive();
                assertThat(registry.get("statefulroute.service.pods.routable").tags("service", "chat")
                    .gauge().value()).isOne();
            });
            TestObservationRegistryAssert.assertThat(context.getBean(TestObservationRegistry.class))
                .hasAnObservation((observation) -> observation.hasNameEqualTo(ObservationRouteListener.ROUTE)
                .hasLowCardinalityKeyValue("outcome", "new_link"))
                .hasAnObservation((observation) -> observation.hasNameEqualTo(ObservationRouteListener.REDIS)
                .hasLowCardinalityKeyValue("operation", "heartbeat"));
        });
    }

    @Test
    void applicationRouteListenersAreCalledWithTheStartersOwn() {
        AtomicInteger decisions = new AtomicInteger();
        RouteListener counting = new RouteListener() {
            @Override
            public void resolved(Object token, String namespace, String service, RouteOutcome outcome, long nanos,
                    Throwable error) {
                decisions.incrementAndGet();
            }
        };
        this.contextRunner.withBean(RouteListener.class, () -> counting).run((context) -> {
            context.getBean(StatefulRouteForClientDriver.class).computeLinkedPod("obs", "user-2", "chat");
            assertThat(decisions).hasValue(1);
            assertThat(context.getBean(MeterRegistry.class).get("statefulroute.routing.decisions").timer().count())
                .isOne();
        });
    }

    @Test
    void noObservationsWithoutAnObservationRegistry() {
        this.contextRunner.run((context) -> assertThat(context).hasNotFailed()
            .hasSingleBean(MicrometerRouteListener.class)
            .doesNotHaveBean(ObservationRouteListener.class));
    }

    @Test
    void routesWithoutMicrometerOnTheClasspath() {
        this.contextRunner.withClassLoader(new FilteredClassLoader("io.micrometer"))
            .withBean(ObservationRegistry.class, TestObservationRegistry::create)
            .run((context) -> {
                assertThat(context).hasNotFailed()
                    .doesNotHaveBean(MicrometerRouteListener.class)
                    .doesNotHaveBean(ObservationRouteListener.class)
                    .doesNotHaveBean(StatefulRouteMeterBinder.class)
                    .doesNotHaveBean(PerformanceAnalyzer.class);
                assertThat(context.getBean(StatefulRouteForClientDriver.class).computeLinkedPod("obs", "user-3", "chat"))
                    .isZero();
            });
    }

    @Test
    void analyzerRunsApplicationRulesAndWarnsOnceWhenAFindingAppears(CapturedOutput output) {
        PerformanceRule always = new PerformanceRule() {
            @Override
            public String id() {
                return "always";
            }

            @Override
            public List<Finding> evaluate(io.statefulroute.analyzer.AnalysisContext context) {
                context.measure("always.value", 2);
                return List.of(new Finding("always", Severity.INFO, "test", 2, 1, "always found", "ignore it"));
            }
        };
        this.contextRunner.withBean(PerformanceRule.class, () -> always).run((context) -> {
            PerformanceAnalyzer analyzer = context.getBean(PerformanceAnalyzer.class);
            assertThat(analyzer.rules()).extracting(PerformanceRule::id)
                .containsExactly("link-cache-hit-rate", "routing-latency", "redis-error-rate", "heartbeat-failures",
                        "no-routable-pod", "load-imbalance", "stale-pod-states", "always");
            PerformanceReport report = analyzer.analyze();
            analyzer.analyze();
            assertThat(report.findings()).extracting(Finding::rule).containsExactly("always");
            assertThat(report.measurements()).containsEntry("always.value", 2.0);
            assertThat(output.getOut().split("\\[always\\] test: always found", -1)).hasSize(2);
            assertThat(output.getOut()).contains("WARN").contains("Suggestion: ignore it");
        });
    }

    @Test
    void builtInRulesCanBeSwitchedOffAndTheAnalyzerToo() {
        this.contextRunner.withPropertyValues("stateful-route.analyzer.load-imbalance.enabled=false")
            .run((context) -> assertThat(context.getBean(PerformanceAnalyzer.class).rules()).extracting(PerformanceRule::id)
                .doesNotContain("load-imbalance")
                .hasSize(6));
        this.contextRunner.withPropertyValues("stateful-route.analyzer.enabled=false")
            .run((context) -> assertThat(context).doesNotHaveBean(PerformanceAnalyzer.class)
                .doesNotHaveBean(PerformanceAnalyzerLifecycle.class));
    }

    @Test
    void reportEndpointOnlyWhenExposed() {
        ApplicationContextRunner withEndpoints = this.contextRunner
            .withConfiguration(AutoConfigurations.of(StatefulRouteEndpointAutoConfiguration.class));
        withEndpoints.run((context) -> assertThat(context).doesNotHaveBean(StatefulRouteReportEndpoint.class));
        withEndpoints.withPropertyValues("management.endpoints.web.exposure.include=statefulroutereport")
            .run((context) -> assertThat(context).hasSingleBean(StatefulRouteReportEndpoint.class));
        withEndpoints.withClassLoader(new FilteredClassLoader(org.springframework.boot.actuate.endpoint.annotation.Endpoint.class))
            .withPropertyValues("management.endpoints.web.exposure.include=*")
            .run((context) -> assertThat(context).hasNotFailed()
                .hasSingleBean(PerformanceAnalyzer.class)
                .doesNotHaveBean(StatefulRouteReportEndpoint.class));
    }

    @Test
    void cacheExpiryPolicyIsAProperty() {
        this.contextRunner.withPropertyValues("stateful-route.cache.expiry=after-access")
            .run((context) -> assertThat(context.getBean(StatefulRouteForClientDriver.class).options().cacheExpiry())
                .isEqualTo(CacheExpiry.AFTER_ACCESS));
        this.contextRunner.run((context) -> assertThat(
                context.getBean(StatefulRouteForClientDriver.class).options().cacheExpiry())
            .isEqualTo(CacheExpiry.AFTER_WRITE));
        this.contextRunner.withPropertyValues("stateful-route.cache.expiry=after-access",
                "stateful-route.link.follow-changes=false")
            .run((context) -> assertThat(context).hasFailed()
                .getFailure()
                .rootCause()
                .hasMessageContaining("after-access needs stateful-route.link.follow-changes=true"));
    }

}
