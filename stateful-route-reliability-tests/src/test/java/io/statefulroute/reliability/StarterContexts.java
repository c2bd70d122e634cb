package io.statefulroute.reliability;

import java.util.UUID;

import io.statefulroute.autoconfigure.StatefulRouteAutoConfiguration;
import io.statefulroute.autoconfigure.StatefulRouteEndpointAutoConfiguration;
import io.statefulroute.autoconfigure.StatefulRouteHealthContributorAutoConfiguration;
import io.statefulroute.autoconfigure.StatefulRouteMetricsAutoConfiguration;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.ssl.SslAutoConfiguration;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Application contexts as a user gets them: Spring Boot's own Redis (and SSL bundle)
 * auto-configuration plus every auto-configuration of the starter, configured by properties only.
 */
final class StarterContexts {

    private StarterContexts() {
    }

    static ApplicationContextRunner runner() {
        return new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(SslAutoConfiguration.class,
                DataRedisAutoConfiguration.class, StatefulRouteAutoConfiguration.class,
                StatefulRouteEndpointAutoConfiguration.class, StatefulRouteHealthContributorAutoConfiguration.class,
                StatefulRouteMetricsAutoConfiguration.class));
    }

    /** A key prefix no other test uses, so tests can share a server. */
    static String uniquePrefix() {
        return "sr-" + UUID.randomUUID().toString().substring(0, 8);
    }
}
