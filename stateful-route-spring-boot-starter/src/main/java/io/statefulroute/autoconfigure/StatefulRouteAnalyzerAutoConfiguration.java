package io.statefulroute.autoconfigure;

import java.util.ArrayList;
import java.util.List;

import io.micrometer.core.instrument.MeterRegistry;
import io.statefulroute.actuate.StatefulRouteReportEndpoint;
import io.statefulroute.analyzer.BuiltInRules;
import io.statefulroute.analyzer.PerformanceAnalyzer;
import io.statefulroute.analyzer.PerformanceRule;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.lifecycle.PerformanceAnalyzerLifecycle;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Auto-configuration of the performance analyzer: the built-in rules switched on under
 * {@code stateful-route.analyzer.*} plus every {@link PerformanceRule} bean, run over the
 * application's {@link MeterRegistry} on a period and by the {@code statefulroutereport}
 * actuator endpoint.
 */
@AutoConfiguration(after = StatefulRouteMetricsAutoConfiguration.class)
@ConditionalOnClass(MeterRegistry.class)
@ConditionalOnBean({ MeterRegistry.class, StatefulRouteForClientDriver.class })
@ConditionalOnBooleanProperty(name = "stateful-route.analyzer.enabled", matchIfMissing = true)
public final class StatefulRouteAnalyzerAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    PerformanceAnalyzer statefulRoutePerformanceAnalyzer(MeterRegistry registry, StatefulRouteProperties properties,
            ObjectProvider<PerformanceRule> rules) {
        List<PerformanceRule> all = new ArrayList<>(builtInRules(properties.getAnalyzer()));
        rules.orderedStream().forEach(all::add);
        return new PerformanceAnalyzer(registry, all, properties.getAnalyzer().getWindow());
    }

    private static List<PerformanceRule> builtInRules(StatefulRouteProperties.Analyzer analyzer) {
        List<PerformanceRule> rules = new ArrayList<>();
        var hitRate = analyzer.getLinkCacheHitRate();
        if (hitRate.isEnabled()) {
            rules.add(BuiltInRules.linkCacheHitRate(hitRate.getMinimum(), hitRate.getMinimumLookups()));
        }
        var latency = analyzer.getRoutingLatency();
        if (latency.isEnabled()) {
            rules.add(BuiltInRules.routingLatency(latency.getMaximumP99(), latency.getMinimumDecisions()));
        }
        var errorRate = analyzer.getRedisErrorRate();
        if (errorRate.isEnabled()) {
            rules.add(BuiltInRules.redisErrorRate(errorRate.getMaximum(), errorRate.getMinimumOperations()));
        }
        var heartbeat = analyzer.getHeartbeatFailures();
        if (heartbeat.isEnabled()) {
            rules.add(BuiltInRules.heartbeatFailures(heartbeat.getMaximum()));
        }
        if (analyzer.getNoRoutablePod().isEnabled()) {
            rules.add(BuiltInRules.noRoutablePod());
        }
        var imbalance = analyzer.getLoadImbalance();
        if (imbalance.isEnabled()) {
            rules.add(BuiltInRules.loadImbalance(imbalance.getMaximumRatio(), imbalance.getMinimumMeanLoad()));
        }
        var stale = analyzer.getStalePodStates();
        if (stale.isEnabled()) {
            rules.add(BuiltInRules.stalePodStates(stale.getMaximumAge()));
        }
        return rules;
    }

    @Bean
    @ConditionalOnMissingBean
    PerformanceAnalyzerLifecycle statefulRoutePerformanceAnalyzerLifecycle(PerformanceAnalyzer analyzer,
            StatefulRouteProperties properties) {
        return new PerformanceAnalyzerLifecycle(analyzer, properties.getAnalyzer().getPeriod());
    }

    /**
     * The {@code statefulroutereport} endpoint: only with actuator and the endpoint available.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({ Endpoint.class, ConditionalOnAvailableEndpoint.class })
    @ConditionalOnAvailableEndpoint(StatefulRouteReportEndpoint.class)
    static class ReportEndpointConfiguration {

        @Bean
        @ConditionalOnMissingBean
        StatefulRouteReportEndpoint statefulRouteReportEndpoint(PerformanceAnalyzer analyzer) {
            return new StatefulRouteReportEndpoint(analyzer);
        }

    }

}
