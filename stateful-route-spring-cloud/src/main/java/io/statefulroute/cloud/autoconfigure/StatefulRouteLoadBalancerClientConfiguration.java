package io.statefulroute.cloud.autoconfigure;

import io.statefulroute.cloud.loadbalancer.DiscoveredPodInstances;
import io.statefulroute.cloud.loadbalancer.StatefulRouteLoadBalancer;
import io.statefulroute.cloud.loadbalancer.StatefulRouteServiceInstanceListSupplier;
import io.statefulroute.cloud.loadbalancer.UidResolver;
import io.statefulroute.core.link.StatefulRouteForClientDriver;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.cloud.client.discovery.DiscoveryClient;
import org.springframework.cloud.client.discovery.ReactiveDiscoveryClient;
import org.springframework.cloud.loadbalancer.core.DiscoveryClientServiceInstanceListSupplier;
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
            StatefulRouteForClientDriver client, StatefulRouteLoadBalancerProperties properties,
            ObjectProvider<ReactiveDiscoveryClient> reactiveDiscovery, ObjectProvider<DiscoveryClient> discovery) {
        StatefulRouteServiceInstanceListSupplier pods = new StatefulRouteServiceInstanceListSupplier(
                client.options().localNamespace(), LoadBalancerClientFactory.getName(environment),
                client.routeInfo().states());
        StatefulRouteLoadBalancerProperties.Discovery settings = properties.getDiscovery();
        if (!settings.isEnabled()) {
            return pods;
        }
        return pods.withDiscoveredInstances(new DiscoveredPodInstances(
                discoveryClientInstances(environment, reactiveDiscovery, discovery), settings.getPodIndexMetadata(),
                settings.getRefreshPeriod()));
    }

    /** Spring Cloud's own reading of the discovery client, with its timeout; the reactive client when there is one. */
    private static ServiceInstanceListSupplier discoveryClientInstances(Environment environment,
            ObjectProvider<ReactiveDiscoveryClient> reactiveDiscovery, ObjectProvider<DiscoveryClient> discovery) {
        ReactiveDiscoveryClient reactive = reactiveDiscovery.getIfUnique();
        if (reactive != null) {
            return new DiscoveryClientServiceInstanceListSupplier(reactive, environment);
        }
        DiscoveryClient blocking = discovery.getIfUnique();
        if (blocking != null) {
            return new DiscoveryClientServiceInstanceListSupplier(blocking, environment);
        }
        throw new IllegalStateException("stateful-route.loadbalancer.discovery.enabled=true needs a DiscoveryClient "
                + "or ReactiveDiscoveryClient bean (Spring Cloud Kubernetes, Consul, Eureka, or the simple one)");
    }

    @Bean
    @ConditionalOnMissingBean
    StatefulRouteLoadBalancer statefulRouteLoadBalancer(StatefulRouteForClientDriver client,
            StatefulRouteServiceInstanceListSupplier instances, UidResolver uids) {
        return new StatefulRouteLoadBalancer(client, instances, uids);
    }

}
