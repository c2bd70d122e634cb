package io.statefulroute.cloud.autoconfigure;

import java.time.Duration;
import java.util.UUID;

import io.statefulroute.autoconfigure.StatefulRouteAutoConfiguration;
import io.statefulroute.cloud.loadbalancer.StatefulRouteLoadBalancer;
import io.statefulroute.cloud.loadbalancer.StatefulRouteServiceInstanceListSupplier;
import io.statefulroute.cloud.loadbalancer.UidResolver;
import io.statefulroute.cloud.web.RoutingProblemWebExceptionHandler;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.boot.webflux.autoconfigure.WebFluxAutoConfiguration;
import org.springframework.boot.http.codec.autoconfigure.CodecsAutoConfiguration;
import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.discovery.simple.reactive.SimpleReactiveDiscoveryClientAutoConfiguration;
import org.springframework.cloud.commons.util.UtilAutoConfiguration;
import org.springframework.cloud.loadbalancer.config.LoadBalancerAutoConfiguration;
import org.springframework.cloud.loadbalancer.core.ReactorServiceInstanceLoadBalancer;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;
import org.springframework.cloud.loadbalancer.support.LoadBalancerClientFactory;

import static org.assertj.core.api.Assertions.assertThat;

class StatefulRouteLoadBalancerAutoConfigurationTests {

    private static final RedisServer redis = RedisServers.shared();

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

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
    @Test
    void withDiscoveryOnPodsAreReachedAtTheDiscoveryClientsInstancesMatchedByPodIndex() {
        discoveryRunner().withPropertyValues("stateful-route.loadbalancer.discovery.enabled=true").run((context) -> {
            StatefulRouteServiceInstanceListSupplier pods = lobbyPods(context);
            assertThat(pods.get().blockFirst(TIMEOUT)).extracting((instance) -> instance.getUri().toString())
                .containsExactly("http://10.1.0.5:9000", "http://lobby-1.lobby.demo.svc:9001", "http://127.0.0.1:8083");
            ServiceInstance one = pods.instance(1).block(TIMEOUT);
            assertThat(one.getHost()).isEqualTo("lobby-1.lobby.demo.svc");
            assertThat(one.getMetadata()).containsEntry(StatefulRouteServiceInstanceListSupplier.POD_INDEX_METADATA, "1")
                .containsEntry(StatefulRouteServiceInstanceListSupplier.ROUTING_STATE_METADATA, "READY");
        });
    }

    @Test
    void thePodIndexMetadataKeyIsConfigurable() {
        discoveryRunner()
            .withPropertyValues("stateful-route.loadbalancer.discovery.enabled=true",
                    "stateful-route.loadbalancer.discovery.pod-index-metadata=ordinal",
                    "spring.cloud.discovery.client.simple.instances.lobby[2].metadata.ordinal=2")
            .run((context) -> assertThat(lobbyPods(context).get().blockFirst(TIMEOUT))
                .extracting((instance) -> instance.getUri().toString())
                .containsExactly("http://127.0.0.1:8081", "http://lobby-1.lobby.demo.svc:9001", "http://10.1.0.9:9000"));
    }

    @Test
    void podsAreReachedAtTheirAdvertisedAddressesUnlessDiscoveryIsSwitchedOn() {
        discoveryRunner().run((context) -> assertThat(lobbyPods(context).get().blockFirst(TIMEOUT))
            .extracting((instance) -> instance.getUri().toString())
            .containsExactly("http://127.0.0.1:8081", "http://127.0.0.1:8083"));
    }

    /**
     * The lobby's pods 0 and 2 advertise 127.0.0.1:8081 and :8083, pod 1 no address; the
     * discovery client lists pod 0 by metadata, pod 1 by its StatefulSet host name, and two
     * instances that name no pod (one a host name that ends in a number).
     */
    private ApplicationContextRunner discoveryRunner() {
        return this.contextRunner
            .withConfiguration(AutoConfigurations.of(UtilAutoConfiguration.class,
                    SimpleReactiveDiscoveryClientAutoConfiguration.class))
            .withPropertyValues("stateful-route.key-prefix=discovery-" + UUID.randomUUID(),
                    "spring.cloud.discovery.client.simple.instances.lobby[0].uri=http://10.1.0.5:9000",
                    "spring.cloud.discovery.client.simple.instances.lobby[0].metadata.pod-index=0",
                    "spring.cloud.discovery.client.simple.instances.lobby[1].uri=http://lobby-1.lobby.demo.svc:9001",
                    "spring.cloud.discovery.client.simple.instances.lobby[2].uri=http://10.1.0.9:9000",
                    "spring.cloud.discovery.client.simple.instances.lobby[3].uri=http://ip-10-1-0-3.ec2.internal:9000");
    }

    /** Publishes the lobby pods {@link #discoveryRunner} describes; returns the lobby's instance supplier. */
    private static StatefulRouteServiceInstanceListSupplier lobbyPods(AssertableApplicationContext context) {
        StatefulExecutor executor = context.getBean(StatefulExecutor.class);
        executor.heartbeatAsync("default", "lobby", 0, RoutingState.READY, 0, null,
                new PodAddress("http", "127.0.0.1", 8081)).join();
        executor.heartbeatAsync("default", "lobby", 1, RoutingState.READY, 0, null, null).join();
        executor.heartbeatAsync("default", "lobby", 2, RoutingState.READY, 0, null,
                new PodAddress("http", "127.0.0.1", 8083)).join();
        return (StatefulRouteServiceInstanceListSupplier) context.getBean(LoadBalancerClientFactory.class)
            .getInstance("lobby", ServiceInstanceListSupplier.class);
    }

}
