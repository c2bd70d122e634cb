package io.statefulroute.autoconfigure;

import io.statefulroute.actuate.StatefulRouteHealthIndicator;
import io.statefulroute.core.server.StatefulRouteForServerDriver;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the {@code statefulRoute} health indicator of a pod's heartbeat:
 * only with Spring Boot's health support on the classpath, on the server side, and unless
 * {@code management.health.statefulroute.enabled=false}.
 */
@AutoConfiguration(after = StatefulRouteAutoConfiguration.class)
@ConditionalOnClass({ HealthIndicator.class, ConditionalOnEnabledHealthIndicator.class })
@ConditionalOnBean(StatefulRouteForServerDriver.class)
@ConditionalOnEnabledHealthIndicator("statefulroute")
public final class StatefulRouteHealthContributorAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "statefulRouteHealthIndicator")
    StatefulRouteHealthIndicator statefulRouteHealthIndicator(StatefulRouteForServerDriver server) {
        return new StatefulRouteHealthIndicator(server);
    }

}
