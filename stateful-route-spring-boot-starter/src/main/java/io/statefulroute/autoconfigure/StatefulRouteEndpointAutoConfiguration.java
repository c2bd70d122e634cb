package io.statefulroute.autoconfigure;

import io.statefulroute.actuate.StatefulRouteEndpoint;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.rebalance.Rebalancer;
import io.statefulroute.core.server.StatefulRouteForServerDriver;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the {@code statefulroute} actuator endpoint: only with actuator on
 * the classpath and the endpoint available (access granted and exposed over web or JMX).
 */
@AutoConfiguration(after = StatefulRouteAutoConfiguration.class)
@ConditionalOnClass({ Endpoint.class, ConditionalOnAvailableEndpoint.class })
@ConditionalOnAvailableEndpoint(StatefulRouteEndpoint.class)
public final class StatefulRouteEndpointAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBean(StatefulRouteForClientDriver.class)
    StatefulRouteEndpoint statefulRouteEndpoint(StatefulRouteForClientDriver client,
            ObjectProvider<StatefulRouteForServerDriver> server, ObjectProvider<Rebalancer> rebalancer) {
        return new StatefulRouteEndpoint(client, server.getIfUnique(), rebalancer.getIfUnique());
    }

}
