package io.statefulroute.autoconfigure;

import io.micrometer.observation.ObservationRegistry;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.tracing.ObservationRouteListener;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of stateful-route's Micrometer observations (trace spans of routing
 * decisions and Redis operations): only when the application has an
 * {@link ObservationRegistry} bean (Spring Boot defines one with actuator).
 */
@AutoConfiguration(after = StatefulRouteAutoConfiguration.class,
        afterName = "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration")
@ConditionalOnClass(ObservationRegistry.class)
@ConditionalOnBean({ ObservationRegistry.class, StatefulRouteForClientDriver.class })
public final class StatefulRouteObservationAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    ObservationRouteListener statefulRouteObservationListener(ObservationRegistry registry,
            StatefulRouteProperties properties) {
        return new ObservationRouteListener(registry, properties.getTracing().isIncludeUid());
    }

}
