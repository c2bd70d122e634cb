package io.statefulroute.it;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.jayway.jsonpath.DocumentContext;
import com.jayway.jsonpath.JsonPath;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceView;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The starter in a running web application on a real Redis: the {@code statefulroute}
 * endpoint, draining through it as seen by another gateway, and the health indicator.
 */
@SpringBootTest(classes = TestApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
class StatefulRouteEndpointIntegrationTests {

    private static final RedisServer redis = RedisServers.shared();

    private static final String KEY_PREFIX = "sr-it-" + UUID.randomUUID().toString().substring(0, 8);

    private static final String NAMESPACE = "it";

    private static RedisObserver gateway;

    @LocalServerPort
    private int port;

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("spring.data.redis.host", redis::host);
        registry.add("spring.data.redis.port", redis::port);
        registry.add("stateful-route.key-prefix", () -> KEY_PREFIX);
        registry.add("stateful-route.namespace", () -> NAMESPACE);
        registry.add("stateful-route.server.service", () -> "chat");
        registry.add("stateful-route.server.pod-index", () -> 1);
        registry.add("stateful-route.server.advertised-address.host", () -> "127.0.0.1");
        registry.add("stateful-route.server.advertised-address.metadata.zone", () -> "z1");
        registry.add("stateful-route.server.heartbeat-period", () -> "100ms");
        registry.add("stateful-route.server.drain-period", () -> "1s");
        registry.add("stateful-route.state.pod-expiry", () -> "1s");
        // a heartbeat must fit in the lease (pod expiry minus a fifth) with its command timeout
        registry.add("stateful-route.command-timeout", () -> "500ms");
        registry.add("stateful-route.state.refresh-period", () -> "100ms");
        registry.add("management.endpoints.web.exposure.include", () -> "statefulroute,health");
        registry.add("management.endpoint.health.show-details", () -> "always");
        registry.add("management.endpoint.health.probes.enabled", () -> "true");
    }

    @BeforeAll
    static void startGateway() {
        gateway = new RedisObserver(redis, KEY_PREFIX, NAMESPACE, Duration.ofSeconds(1));
    }

    @AfterAll
    static void stopGateway() {
        gateway.close();
    }

    @AfterEach
    void undrain() {
        post(Map.of("routingState", "READY", "loadState", 0));
    }

    @Test
    void readReportsThisPodEveryKnownServiceAndCacheStatistics() {
        DocumentContext chat = get("/actuator/statefulroute/chat");
        assertThat(chat.read("$.namespace", String.class)).isEqualTo(NAMESPACE);
        assertThat(chat.read("$.service", String.class)).isEqualTo("chat");
        assertThat(chat.read("$.pods[?(@.podIndex == 1)].routingState", List.class)).containsExactly("READY");
        assertThat(chat.read("$.pods[?(@.podIndex == 1)].alive", List.class)).containsExactly(true);
        assertThat(chat.read("$.pods[?(@.podIndex == 1)].routable", List.class)).containsExactly(true);
        assertThat(chat.read("$.pods[?(@.podIndex == 1)].ageMillis", List.class)).singleElement()
            .satisfies((age) -> assertThat(((Number) age).longValue()).isBetween(0L, 1000L));
        // a service with no pod entry is not found, and not kept: a name from a request leaves nothing behind
        assertThat(rest().get().uri("/actuator/statefulroute/lobby").retrieve().toBodilessEntity().getStatusCode())
            .isEqualTo(HttpStatusCode.valueOf(404));

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            DocumentContext route = get("/actuator/statefulroute");
            assertThat(route.read("$.namespace", String.class)).isEqualTo(NAMESPACE);
            assertThat(route.read("$.pod.namespace", String.class)).isEqualTo(NAMESPACE);
            assertThat(route.read("$.pod.service", String.class)).isEqualTo("chat");
            assertThat(route.read("$.pod.podIndex", Integer.class)).isEqualTo(1);
            assertThat(route.read("$.pod.loadState", Integer.class)).isZero();
            assertThat(route.read("$.pod.loadScore", Double.class)).isZero();
            assertThat(route.read("$.pod.routingState", String.class)).isEqualTo("READY");
            assertThat(route.read("$.pod.heartbeat.healthy", Boolean.class)).isTrue();
            assertThat(route.read("$.pod.heartbeat.lastSuccess", String.class)).isNotBlank();
            assertThat(route.read("$.pod.heartbeat.consecutiveFailures", Integer.class)).isZero();
            assertThat(route.read("$.services[*].service", List.class)).contains("chat").doesNotContain("lobby");
            assertThat(route.read("$.services[?(@.service == 'chat')].pods[*].podIndex", List.class)).contains(1);
            assertThat(route.read("$.linkCache.size", Long.class)).isNotNegative();
            assertThat(route.read("$.linkCache.hitRate", Double.class)).isNotNegative();
            assertThat(route.read("$.stateCache.services", Integer.class)).isGreaterThanOrEqualTo(1);
            assertThat(route.read("$.stateCache.maxServices", Integer.class)).isEqualTo(1000);
            assertThat(route.read("$.stateCache.refreshes", Long.class)).isPositive();
            assertThat(route.read("$.stateCache.lastRefresh", String.class)).isNotBlank();
        });
    }

    @Test
    void podAdvertisesThePortItsWebServerListensOn() {
        PodAddress expected = new PodAddress("http", "127.0.0.1", this.port, Map.of("zone", "z1"));
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(
                gateway.states.reloadAsync(NAMESPACE, "chat").join().pod(1).address()).isEqualTo(expected));
        DocumentContext route = get("/actuator/statefulroute");
        assertThat(route.read("$.pod.address.port", Integer.class)).isEqualTo(this.port);
        assertThat(route.read("$.pod.address.metadata.zone", String.class)).isEqualTo("z1");
        assertThat(get("/actuator/statefulroute/chat").read("$.pods[?(@.podIndex == 1)].address.host", List.class))
            .containsExactly("127.0.0.1");
    }

    @Test
    void drainStopsNewUsersOnThisPodButKeepsItsUsers() {
        assertThat(gateway.client.computeLinkedPod(NAMESPACE, "existing-user", "chat")).isEqualTo(1);

        ResponseEntity<String> drained = post(Map.of("routingState", "DENY_NEW_CALL"));
        assertThat(drained.getStatusCode().is2xxSuccessful()).isTrue();
        assertThat(JsonPath.parse(drained.getBody()).read("$.routingState", String.class)).isEqualTo("DENY_NEW_CALL");

        await().atMost(Duration.ofSeconds(5)).until(() -> {
            // Another pod of the service, alive and READY, to take the new users.
            gateway.executor.setServiceState(NAMESPACE, "chat", 0, RoutingState.READY, 0);
            gateway.states.refresh();
            ServiceView view = gateway.states.view(NAMESPACE, "chat");
            return view.isAvailable(1) && !view.isRoutable(1) && view.isRoutable(0);
        });
        for (int i = 0; i < 10; i++) {
            assertThat(gateway.client.computeLinkedPod(NAMESPACE, "new-user-" + i, "chat")).isEqualTo(0);
        }
        gateway.client.cacheExpired(NAMESPACE, "existing-user", "chat");
        assertThat(gateway.client.computeLinkedPod(NAMESPACE, "existing-user", "chat")).isEqualTo(1);

        post(Map.of("routingState", "READY"));
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            gateway.states.refresh();
            return gateway.states.view(NAMESPACE, "chat").isRoutable(1);
        });
    }

    @Test
    void writeSetsTheLoadState() {
        ResponseEntity<String> response = post(Map.of("loadState", 10));
        DocumentContext pod = JsonPath.parse(response.getBody());
        assertThat(pod.read("$.loadState", Integer.class)).isEqualTo(10);
        // The default cpu factor 0.3 leaves 0.7 to the load state.
        assertThat(pod.read("$.loadScore", Double.class)).isEqualTo(7.0);
        await().atMost(Duration.ofSeconds(5))
            .until(() -> gateway.executor.getServiceState(NAMESPACE, "chat").pod(1).orElseThrow().loadScore() == 7.0);
    }

    @Test
    void writeWithNothingToSetIsABadRequest() {
        assertThat(post(Map.of()).getStatusCode()).isEqualTo(HttpStatusCode.valueOf(400));
    }

    @Test
    void shutdownFromOutsideIsABadRequestAndChangesNothing() {
        ResponseEntity<String> refused = post(Map.of("routingState", "SHUTDOWN"));
        assertThat(refused.getStatusCode()).isEqualTo(HttpStatusCode.valueOf(400));
        assertThat(post(Map.of("routingState", "NO_SUCH_STATE")).getStatusCode())
            .isEqualTo(HttpStatusCode.valueOf(400));
        assertThat(get("/actuator/statefulroute").read("$.pod.routingState", String.class)).isEqualTo("READY");
        assertThat(gateway.executor.getServiceState(NAMESPACE, "chat").pod(1).orElseThrow().routingState())
            .isEqualTo(RoutingState.READY);
    }

    @Test
    void healthReportsHeartbeatsOutsideTheLivenessGroup() {
        DocumentContext health = get("/actuator/health");
        assertThat(health.read("$.components.statefulRoute.status", String.class)).isEqualTo("UP");
        assertThat(health.read("$.components.statefulRoute.details.pod", String.class)).isEqualTo("it/chat-1");
        assertThat(health.read("$.components.statefulRoute.details.lastSuccess", String.class)).isNotBlank();
        String liveness = rest().get().uri("/actuator/health/liveness").retrieve().body(String.class);
        assertThat(liveness).doesNotContain("statefulRoute");
    }

    private RestClient rest() {
        return RestClient.builder()
            .baseUrl("http://localhost:" + this.port)
            .defaultStatusHandler(HttpStatusCode::isError, (request, response) -> { })
            .build();
    }

    private DocumentContext get(String path) {
        return JsonPath.parse(rest().get().uri(path).retrieve().body(String.class));
    }

    private ResponseEntity<String> post(Map<String, Object> body) {
        return rest().post()
            .uri("/actuator/statefulroute")
            .contentType(MediaType.APPLICATION_JSON)
            .body(body)
            .retrieve()
            .toEntity(String.class);
    }

}
