package io.statefulroute.cloud.autoconfigure;

import io.statefulroute.autoconfigure.StatefulRouteProperties;
import io.statefulroute.cloud.loadbalancer.DiscoveredPodInstances;
import io.statefulroute.cloud.loadbalancer.StatefulOrDefaultLoadBalancer;
import io.statefulroute.cloud.loadbalancer.StatefulRouteLoadBalancer;
import io.statefulroute.cloud.loadbalancer.StatefulRouteServiceInstanceListSupplier;
import io.statefulroute.cloud.loadbalancer.StatefulServiceCheck;
import io.statefulroute.cloud.loadbalancer.UidResolver;
import io.statefulroute.core.link.StatefulRouteForClientDriver;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.cloud.client.discovery.DiscoveryClient;
import org.springframework.cloud.client.discovery.ReactiveDiscoveryClient;
import org.springframework.cloud.loadbalancer.core.DiscoveryClientServiceInstanceListSupplier;
import org.springframework.cloud.loadbalancer.core.ReactorLoadBalancer;
import org.springframework.cloud.loadbalancer.core.RoundRobinLoadBalancer;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;
import org.springframework.cloud.loadbalancer.support.LoadBalancerClientFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * What each load-balanced service's child context gets (registered as the LoadBalancer
 * clients' default configuration, so it is processed before Spring Cloud's own
 * {@code LoadBalancerClientConfiguration}, whose balancer then backs off): a balancer that
 * routes the service by stateful-route while it is stateful, and otherwise as Spring Cloud
 * would. Spring Cloud's {@code ServiceInstanceListSupplier} of the context (its discovery
 * client's instances, as {@code spring.cloud.loadbalancer.configurations} says) stays, for
 * the service that is not stateful.
 */
@Configuration(proxyBeanMethods = false)
class StatefulRouteLoadBalancerClientConfiguration {

    @Bean
    @ConditionalOnMissingBean(ReactorLoadBalancer.class)
    StatefulOrDefaultLoadBalancer statefulRouteLoadBalancer(Environment environment,
            StatefulRouteForClientDriver client, StatefulRouteLoadBalancerProperties properties,
            ObjectProvider<StatefulRouteProperties> routeProperties, UidResolver uids,
            LoadBalancerClientFactory clients, ObjectProvider<ReactiveDiscoveryClient> reactiveDiscovery,
            ObjectProvider<DiscoveryClient> discovery) {
        String service = LoadBalancerClientFactory.getName(environment);
        String namespace = client.options().localNamespace();
        // a service that is not stateful is re-checked as often as the state cache re-reads one
        StatefulServiceCheck check = new StatefulServiceCheck(namespace, service, client.routeInfo().states(),
                properties.getServices().contains(service),
                routeProperties.getIfAvailable(StatefulRouteProperties::new).getState().getRefreshPeriod());
        StatefulRouteLoadBalancer stateful = new StatefulRouteLoadBalancer(client,
                pods(environment, client, properties, reactiveDiscovery, discovery), uids);
        // the balancer Spring Cloud's LoadBalancerClientConfiguration would have defined
        RoundRobinLoadBalancer roundRobin = new RoundRobinLoadBalancer(
                clients.getLazyProvider(service, ServiceInstanceListSupplier.class), service);
        return new StatefulOrDefaultLoadBalancer(check, stateful, roundRobin);
    }

    private static StatefulRouteServiceInstanceListSupplier pods(Environment environment,
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

}
