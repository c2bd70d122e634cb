package io.statefulroute.autoconfigure;

import io.micrometer.core.instrument.binder.MeterBinder;
import io.statefulroute.actuate.StatefulRouteMeterBinder;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.server.StatefulRouteForServerDriver;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of stateful-route's Micrometer meters: only with Micrometer on the
 * classpath. Spring Boot's metrics support binds the {@link MeterBinder} to every registry.
 */
@AutoConfiguration(after = StatefulRouteAutoConfiguration.class)
@ConditionalOnClass(MeterBinder.class)
@ConditionalOnBean(StatefulRouteForClientDriver.class)
public final class StatefulRouteMetricsAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    StatefulRouteMeterBinder statefulRouteMeterBinder(StatefulRouteForClientDriver client,
            ObjectProvider<StatefulRouteForServerDriver> server) {
        return new StatefulRouteMeterBinder(client, server.getIfUnique());
    }

}
