package io.statefulroute.cloud.autoconfigure;

import io.statefulroute.cloud.loadbalancer.StatefulRouteLoadBalancer;
import io.statefulroute.cloud.loadbalancer.StatefulRouteServiceInstanceListSupplier;
import io.statefulroute.cloud.loadbalancer.UidResolver;
import io.statefulroute.core.link.StatefulRouteForClientDriver;

import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;
import org.springframework.cloud.loadbalancer.support.LoadBalancerClientFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * What each load-balanced service's child context gets (registered as the LoadBalancer
 * clients' default configuration, so it is processed before Spring Cloud's own
 * {@code LoadBalancerClientConfiguration}, whose beans then back off).
 */
@Configuration(proxyBeanMethods = false)
@Conditional(OnStatefulServiceCondition.class)
class StatefulRouteLoadBalancerClientConfiguration {

    @Bean
    @ConditionalOnMissingBean(ServiceInstanceListSupplier.class)
    StatefulRouteServiceInstanceListSupplier statefulRouteServiceInstanceListSupplier(Environment environment,
            StatefulRouteForClientDriver client) {
        return new StatefulRouteServiceInstanceListSupplier(client.options().localNamespace(),
                LoadBalancerClientFactory.getName(environment), client.routeInfo().states());
    }

    @Bean
    @ConditionalOnMissingBean
    StatefulRouteLoadBalancer statefulRouteLoadBalancer(StatefulRouteForClientDriver client,
            StatefulRouteServiceInstanceListSupplier instances, UidResolver uids) {
        return new StatefulRouteLoadBalancer(client, instances, uids);
    }

}
