package io.statefulroute.cloud.autoconfigure;

import io.statefulroute.autoconfigure.StatefulRouteAutoConfiguration;
import io.statefulroute.cloud.loadbalancer.StatefulRouteLoadBalancer;
import io.statefulroute.cloud.loadbalancer.StatefulRouteServiceInstanceListSupplier;
import io.statefulroute.cloud.loadbalancer.UidResolver;
import io.statefulroute.cloud.web.RoutingProblemWebExceptionHandler;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.boot.webflux.autoconfigure.WebFluxAutoConfiguration;
import org.springframework.boot.http.codec.autoconfigure.CodecsAutoConfiguration;
import org.springframework.cloud.loadbalancer.config.LoadBalancerAutoConfiguration;
import org.springframework.cloud.loadbalancer.core.ReactorServiceInstanceLoadBalancer;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;
import org.springframework.cloud.loadbalancer.support.LoadBalancerClientFactory;

import static org.assertj.core.api.Assertions.assertThat;

class StatefulRouteLoadBalancerAutoConfigurationTests {

    private static final RedisServer redis = RedisServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class,
                StatefulRouteAutoConfiguration.class, StatefulRouteLoadBalancerAutoConfiguration.class,
                LoadBalancerAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
                "stateful-route.scheduling.enabled=false");

    @Test
    void everyLoadBalancedServiceGetsTheStatefulRouteBalancerAndInstances() {
        this.contextRunner.run((context) -> {
            LoadBalancerClientFactory factory = context.getBean(LoadBalancerClientFactory.class);
            assertThat(factory.getInstance("lobby", ReactorServiceInstanceLoadBalancer.class))
                .isInstanceOf(StatefulRouteLoadBalancer.class);
            ServiceInstanceListSupplier instances = factory.getInstance("lobby", ServiceInstanceListSupplier.class);
            assertThat(instances).isInstanceOf(StatefulRouteServiceInstanceListSupplier.class);
            assertThat(instances.getServiceId()).isEqualTo("lobby");
            assertThat(context).hasSingleBean(UidResolver.class);
        });
    }

    @Test
    void onlyTheListedServicesWhenSomeAreListed() {
        this.contextRunner.withPropertyValues("stateful-route.loadbalancer.services=lobby").run((context) -> {
            LoadBalancerClientFactory factory = context.getBean(LoadBalancerClientFactory.class);
            assertThat(factory.getInstance("lobby", ReactorServiceInstanceLoadBalancer.class))
                .isInstanceOf(StatefulRouteLoadBalancer.class);
            assertThat(factory.getInstance("billing", ReactorServiceInstanceLoadBalancer.class))
                .isNotInstanceOf(StatefulRouteLoadBalancer.class);
        });
    }

    @Test
    void backsOffWhenSwitchedOffOrWithoutSpringCloudLoadBalancer() {
        this.contextRunner.withPropertyValues("stateful-route.loadbalancer.enabled=false")
            .run((context) -> assertThat(context).doesNotHaveBean(UidResolver.class));
        this.contextRunner.withClassLoader(new FilteredClassLoader(ReactorServiceInstanceLoadBalancer.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(UidResolver.class));
    }

    @Test
    void applicationsOwnUidResolverWins() {
        UidResolver own = (request) -> reactor.core.publisher.Mono.just("fixed");
        this.contextRunner.withBean(UidResolver.class, () -> own)
            .run((context) -> assertThat(context.getBean(UidResolver.class)).isSameAs(own));
    }

    @Test
    void principalSourceWithoutSpringSecurityFailsSayingWhatIsMissing() {
        this.contextRunner.withPropertyValues("stateful-route.loadbalancer.uid.source=principal")
            .withClassLoader(new FilteredClassLoader("org.springframework.security"))
            .run((context) -> assertThat(context).getFailure().rootCause()
                .hasMessageContaining("needs spring-security-core"));
    }

    @Test
    void reactiveWebApplicationsAnswerRoutingFailuresWithProblemDetails() {
        new ReactiveWebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class,
                    StatefulRouteAutoConfiguration.class, StatefulRouteLoadBalancerAutoConfiguration.class,
                    CodecsAutoConfiguration.class, WebFluxAutoConfiguration.class))
            .withPropertyValues("spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
                    "stateful-route.scheduling.enabled=false")
            .run((context) -> assertThat(context).hasSingleBean(RoutingProblemWebExceptionHandler.class));
        this.contextRunner.run((context) -> assertThat(context).doesNotHaveBean(RoutingProblemWebExceptionHandler.class));
    }

}
