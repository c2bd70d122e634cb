package io.statefulroute.autoconfigure;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.statefulroute.actuate.StatefulRouteMeterBinder;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.rebalance.Rebalancer;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.metrics.MicrometerRouteListener;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of stateful-route's Micrometer meters: only with Micrometer on the
 * classpath. Spring Boot's metrics support binds the {@link MeterBinder} (gauges read at
 * scrape time, the link cache through Micrometer's Caffeine binder) to every registry; with a
 * {@link MeterRegistry} bean, a {@link MicrometerRouteListener} records the timers and the
 * per-service gauges (the executor, client driver and lifecycle pick it up as a listener).
 */
@AutoConfiguration(after = StatefulRouteAutoConfiguration.class,
        afterName = { "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
                "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
                "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration" })
@ConditionalOnClass(MeterBinder.class)
@ConditionalOnBean(StatefulRouteForClientDriver.class)
public final class StatefulRouteMetricsAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    StatefulRouteMeterBinder statefulRouteMeterBinder(StatefulRouteForClientDriver client,
            ObjectProvider<StatefulRouteForServerDriver> server, ObjectProvider<StatefulRouteProperties> properties,
            ObjectProvider<Rebalancer> rebalancer) {
        // the starter's lifecycle, which comes with its properties, is what follows link changes
        StatefulRouteProperties settings = properties.getIfAvailable();
        boolean followsLinkChanges = settings != null && settings.getLink().isFollowChanges();
        return new StatefulRouteMeterBinder(client, server.getIfUnique(), followsLinkChanges,
                rebalancer.getIfUnique());
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBean(MeterRegistry.class)
    MicrometerRouteListener statefulRouteMetricsListener(MeterRegistry registry,
            ObjectProvider<ServiceStateCache> states) {
        // The state cache is looked up lazily: it depends on the executor this listener is given to.
        return new MicrometerRouteListener(registry, states::getIfUnique);
    }

}
