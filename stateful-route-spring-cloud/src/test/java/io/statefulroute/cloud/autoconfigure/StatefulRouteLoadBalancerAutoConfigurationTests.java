package io.statefulroute.cloud.autoconfigure;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.statefulroute.autoconfigure.StatefulRouteAutoConfiguration;
import io.statefulroute.cloud.loadbalancer.PodChoice;
import io.statefulroute.cloud.loadbalancer.StatefulOrDefaultLoadBalancer;
import io.statefulroute.cloud.loadbalancer.StatefulRouteServiceInstanceListSupplier;
import io.statefulroute.cloud.loadbalancer.UidResolver;
import io.statefulroute.cloud.web.RoutingProblemWebExceptionHandler;
import io.statefulroute.cloud.websocket.FollowedSessions;
import io.statefulroute.cloud.websocket.LinkFollowingWebSocketService;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
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
import org.springframework.cloud.client.loadbalancer.DefaultRequest;
import org.springframework.cloud.client.loadbalancer.Request;
import org.springframework.cloud.client.loadbalancer.RequestData;
import org.springframework.cloud.client.loadbalancer.RequestDataContext;
import org.springframework.cloud.client.loadbalancer.Response;
import org.springframework.cloud.commons.util.UtilAutoConfiguration;
import org.springframework.cloud.loadbalancer.annotation.LoadBalancerClient;
import org.springframework.cloud.loadbalancer.config.LoadBalancerAutoConfiguration;
import org.springframework.cloud.loadbalancer.core.RandomLoadBalancer;
import org.springframework.cloud.loadbalancer.core.ReactorLoadBalancer;
import org.springframework.cloud.loadbalancer.core.ReactorServiceInstanceLoadBalancer;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;
import org.springframework.cloud.loadbalancer.support.LoadBalancerClientFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.web.reactive.socket.server.WebSocketService;
import org.springframework.web.reactive.socket.server.support.HandshakeWebSocketService;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

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
    void everyLoadBalancedServiceGetsABalancerThatRoutesItByStatefulRouteWhileItIsStateful() {
        this.contextRunner.run((context) -> {
            ReactorServiceInstanceLoadBalancer balancer = balancer(context, "lobby");
            assertThat(balancer).isInstanceOf(StatefulOrDefaultLoadBalancer.class);
            assertThat(((StatefulOrDefaultLoadBalancer) balancer).statefulBalancer().instances().getServiceId())
                .isEqualTo("lobby");
            assertThat(balancer(context, "billing")).isInstanceOf(StatefulOrDefaultLoadBalancer.class);
            assertThat(context).hasSingleBean(UidResolver.class);
        });
    }

    /**
     * With default properties, a service none of whose pods heartbeats keeps Spring Cloud's
     * own balancer: round robin over the discovery client's instances, with or without a uid.
     */
    @Test
    void aServiceWithoutPodsIsBalancedAsSpringCloudWouldOverItsDiscoveredInstances() {
        discoveryRunner()
            .withPropertyValues("spring.cloud.discovery.client.simple.instances.orders[0].uri=http://10.2.0.1:9000",
                    "spring.cloud.discovery.client.simple.instances.orders[1].uri=http://10.2.0.2:9000")
            .run((context) -> {
                ReactorServiceInstanceLoadBalancer orders = balancer(context, "orders");
                List<String> chosen = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    chosen.add(orders.choose(requestOf("alice")).block(TIMEOUT).getServer().getHost());
                }
                assertThat(chosen).containsOnly("10.2.0.1", "10.2.0.2");
                assertThat(chosen.subList(0, 2)).doesNotHaveDuplicates();
                assertThat(chosen.subList(0, 2)).isEqualTo(chosen.subList(2, 4)).isEqualTo(chosen.subList(4, 6));
                assertThat(context.getBean(StatefulExecutor.class)
                    .getLinkService(context.getBean(StatefulRouteForClientDriver.class).options().localNamespace(),
                            "alice")).doesNotContainKey("orders");
            });
    }

    @Test
    void aServiceWhosePodsHeartbeatIsRoutedToItsUsersPod() {
        discoveryRunner().run((context) -> {
            StatefulExecutor executor = context.getBean(StatefulExecutor.class);
            for (int pod = 0; pod < 2; pod++) {
                executor.heartbeatAsync("default", "arena", pod, RoutingState.READY, 0, null,
                        new PodAddress("http", "127.0.0.1", 8090 + pod)).join();
            }
            ReactorServiceInstanceLoadBalancer arena = balancer(context, "arena");
            for (String uid : List.of("alice", "bob", "carol", "dave")) {
                Response<ServiceInstance> first = arena.choose(requestOf(uid)).block(TIMEOUT);
                assertThat(first).isInstanceOfSatisfying(PodChoice.class, (choice) -> {
                    assertThat(choice.uid()).isEqualTo(uid);
                    assertThat(choice.service()).isEqualTo("arena");
                    assertThat(first.getServer().getMetadata()).containsEntry(
                            StatefulRouteServiceInstanceListSupplier.POD_INDEX_METADATA,
                            Integer.toString(choice.podIndex()));
                });
                assertThat(first.getServer().getMetadata())
                    .containsKey(StatefulRouteServiceInstanceListSupplier.POD_INDEX_METADATA);
                for (int i = 0; i < 5; i++) {
                    assertThat(arena.choose(requestOf(uid)).block(TIMEOUT).getServer().getUri())
                        .isEqualTo(first.getServer().getUri());
                }
                assertThat(executor.getLinkService("default", uid)).containsEntry("arena",
                        Integer.valueOf(first.getServer().getMetadata()
                            .get(StatefulRouteServiceInstanceListSupplier.POD_INDEX_METADATA)));
            }
        });
    }

    /** A listed service is stateful before any pod of it heartbeats: no pod, so no routable pod. */
    @Test
    void aListedServiceIsRoutedByStatefulRouteEvenWithoutPods() {
        discoveryRunner()
            .withPropertyValues("stateful-route.loadbalancer.services=chess",
                    "spring.cloud.discovery.client.simple.instances.chess[0].uri=http://10.3.0.1:9000")
            .run((context) -> assertThatExceptionOfType(NoRoutablePodException.class)
                .isThrownBy(() -> balancer(context, "chess").choose(requestOf("alice")).block(TIMEOUT)));
    }

    /** A balancer of the application's own for one service replaces ours there, as it replaces Spring Cloud's. */
    @Test
    void anApplicationsOwnBalancerForAServiceWins() {
        this.contextRunner.withUserConfiguration(OwnOrdersBalancer.class).run((context) -> {
            assertThat(balancer(context, "orders")).isInstanceOf(RandomLoadBalancer.class);
            assertThat(balancer(context, "lobby")).isInstanceOf(StatefulOrDefaultLoadBalancer.class);
        });
    }

    @Configuration(proxyBeanMethods = false)
    @LoadBalancerClient(name = "orders", configuration = RandomBalancerConfiguration.class)
    static class OwnOrdersBalancer {

    }

    static class RandomBalancerConfiguration {

        @Bean
        ReactorLoadBalancer<ServiceInstance> randomLoadBalancer(Environment environment,
                LoadBalancerClientFactory clients) {
            String name = LoadBalancerClientFactory.getName(environment);
            return new RandomLoadBalancer(clients.getLazyProvider(name, ServiceInstanceListSupplier.class), name);
        }

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

    /** Spring Cloud Gateway proxies its sessions through the application's WebSocketService: decorated, they follow their links. */
    @Test
    void aGatewaysWebSocketSessionsFollowTheirUsersLinks() {
        webSocketRunner().run((context) -> {
            assertThat(context).hasSingleBean(FollowedSessions.class);
            assertThat(context.getBean(WebSocketService.class)).isInstanceOfSatisfying(
                    LinkFollowingWebSocketService.class,
                    (service) -> assertThat(service.delegate()).isInstanceOf(HandshakeWebSocketService.class));
        });
    }

    @Test
    void webSocketSessionsDoNotFollowLinksWhenSwitchedOffOrWithoutSpringCloudGateway() {
        webSocketRunner().withPropertyValues("stateful-route.loadbalancer.websocket.follow-links=false")
            .run((context) -> {
                assertThat(context).doesNotHaveBean(FollowedSessions.class);
                assertThat(context.getBean(WebSocketService.class)).isInstanceOf(HandshakeWebSocketService.class);
            });
        webSocketRunner().withClassLoader(new FilteredClassLoader("org.springframework.cloud.gateway"))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(FollowedSessions.class));
        this.contextRunner.run((context) -> assertThat(context).doesNotHaveBean(FollowedSessions.class));
    }

    @Test
    void aCloseCodeNoEndpointMaySendFailsAtStartup() {
        webSocketRunner().withPropertyValues("stateful-route.loadbalancer.websocket.close-code=1006")
            .run((context) -> assertThat(context).getFailure().rootCause()
                .hasMessageContaining("WebSocket close code 1006 cannot be sent"));
    }

    /** A reactive application, as a gateway is, with a WebSocketService bean, as Spring Cloud Gateway defines one. */
    private ReactiveWebApplicationContextRunner webSocketRunner() {
        return new ReactiveWebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class,
                    StatefulRouteAutoConfiguration.class, StatefulRouteLoadBalancerAutoConfiguration.class,
                    CodecsAutoConfiguration.class, WebFluxAutoConfiguration.class))
            .withPropertyValues("spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
                    "stateful-route.scheduling.enabled=false")
            .withBean("webSocketService", WebSocketService.class, HandshakeWebSocketService::new);
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
                .containsEntry(StatefulRouteServiceInstanceListSupplier.NAMESPACE_METADATA, "default")
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

    /** Publishes the lobby pods {@link #discoveryRunner} describes; returns the lobby's pods as its balancer sees them. */
    private static StatefulRouteServiceInstanceListSupplier lobbyPods(AssertableApplicationContext context) {
        publishLobbyPods(context);
        return ((StatefulOrDefaultLoadBalancer) balancer(context, "lobby")).statefulBalancer().instances();
    }

    private static void publishLobbyPods(AssertableApplicationContext context) {
        StatefulExecutor executor = context.getBean(StatefulExecutor.class);
        executor.heartbeatAsync("default", "lobby", 0, RoutingState.READY, 0, null,
                new PodAddress("http", "127.0.0.1", 8081)).join();
        executor.heartbeatAsync("default", "lobby", 1, RoutingState.READY, 0, null, null).join();
        executor.heartbeatAsync("default", "lobby", 2, RoutingState.READY, 0, null,
                new PodAddress("http", "127.0.0.1", 8083)).join();
    }

    private static ReactorServiceInstanceLoadBalancer balancer(AssertableApplicationContext context, String service) {
        return context.getBean(LoadBalancerClientFactory.class).getInstance(service,
                ReactorServiceInstanceLoadBalancer.class);
    }

    /** A load-balancer request as Spring Cloud Gateway makes it, of a user named in the default uid header. */
    private static Request<RequestDataContext> requestOf(String uid) {
        HttpHeaders headers = new HttpHeaders();
        headers.add("X-User-Id", uid);
        return new DefaultRequest<>(new RequestDataContext(new RequestData(HttpMethod.GET,
                URI.create("http://gateway/any/" + uid), headers, new LinkedMultiValueMap<>(), Map.of())));
    }

}
