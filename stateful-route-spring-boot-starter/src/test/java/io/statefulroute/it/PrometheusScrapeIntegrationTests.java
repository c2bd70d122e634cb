package io.statefulroute.it;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import com.jayway.jsonpath.DocumentContext;
import com.jayway.jsonpath.JsonPath;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A running web application with actuator and the Prometheus registry: every stateful-route
 * meter shows up in {@code /actuator/prometheus} under its documented Prometheus name, next
 * to the timers Spring Boot derives from the observations (no name collides), and the
 * performance report is served by its own endpoint.
 */
@SpringBootTest(classes = TestApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
class PrometheusScrapeIntegrationTests {

    private static final RedisServer redis = RedisServers.shared();

    private static final String NAMESPACE = "prom";

    @LocalServerPort
    private int port;

    @Autowired
    private StatefulRouteForClientDriver client;

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("spring.data.redis.host", redis::host);
        registry.add("spring.data.redis.port", redis::port);
        registry.add("stateful-route.key-prefix", () -> "sr-prom-" + UUID.randomUUID().toString().substring(0, 8));
        registry.add("stateful-route.namespace", () -> NAMESPACE);
        registry.add("stateful-route.server.service", () -> "chat");
        registry.add("stateful-route.server.pod-index", () -> 0);
        registry.add("stateful-route.server.drain-period", () -> "0s");
        registry.add("stateful-route.state.refresh-period", () -> "100ms");
        registry.add("management.endpoints.web.exposure.include", () -> "prometheus,statefulroutereport");
    }

    @Test
    void everyMeterIsScrapedUnderItsPrometheusName() {
        await().atMost(Duration.ofSeconds(5)).until(this.client::isFollowingLinkChanges);
        // notices come by client tracking (auto): the link the first call creates is not cached, the second reads it
        this.client.computeLinkedPod(NAMESPACE, "user-1", "chat");
        this.client.computeLinkedPod(NAMESPACE, "user-1", "chat");
        this.client.computeLinkedPod(NAMESPACE, "user-1", "chat");
        List<String> expected = List.of("statefulroute_routing_decisions_seconds_count",
                "statefulroute_routing_decisions_seconds_sum", "statefulroute_routing_decisions_seconds_max",
                "statefulroute_routing_decisions_seconds{", "statefulroute_redis_operations_seconds_count",
                "statefulroute_heartbeat_seconds_count", "statefulroute_heartbeat_failures_total",
                "statefulroute_heartbeat_consecutive_failures", "statefulroute_state_refresh_seconds_count",
                "statefulroute_state_cache_services", "statefulroute_skipped_entries_total{kind=\"malformed_pod_entry\"",
                "statefulroute_link_notices_total{result=\"evicted\"", "statefulroute_link_notices_total{result=\"idle\"",
                "statefulroute_link_notices_trusted", "statefulroute_service_pods_alive",
                "statefulroute_service_pods_routable", "statefulroute_service_pods_dead", "statefulroute_service_pod_load_score",
                "statefulroute_service_state_age_seconds", "statefulroute_pod_load_score",
                "statefulroute_pod_routing_state", "cache_size{cache=\"statefulroute.links\"",
                "cache_gets_total{cache=\"statefulroute.links\"", "cache_evictions_total{cache=\"statefulroute.links\"",
                // from Spring Boot's meter observation handler, beside (not instead of) the timers above
                "statefulroute_route_resolve_seconds_count", "statefulroute_redis_command_seconds_count");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            String scrape = rest().get().uri("/actuator/prometheus").retrieve().body(String.class);
            assertThat(scrape).contains(expected);
            assertThat(scrape).contains("statefulroute_routing_decisions_seconds_count{namespace=\"prom\",outcome=\"new_link\",service=\"chat\"} 1")
                .contains("statefulroute_routing_decisions_seconds_count{namespace=\"prom\",outcome=\"existing_link\",service=\"chat\"} 1")
                .contains("statefulroute_routing_decisions_seconds_count{namespace=\"prom\",outcome=\"cache_hit\",service=\"chat\"} 1")
                .contains("statefulroute_service_pods_routable{namespace=\"prom\",service=\"chat\"} 1")
                .doesNotContain("user-1");
        });
    }

    @Test
    void reportIsServedByItsOwnEndpoint() {
        DocumentContext report = JsonPath
            .parse(rest().get().uri("/actuator/statefulroutereport").retrieve().body(String.class));
        assertThat(report.read("$.findings", List.class)).isEmpty();
        assertThat(report.read("$.analyzedAt", String.class)).isNotBlank();
        assertThat(report.read("$.measurements", java.util.Map.class)).isNotNull();
    }

    private RestClient rest() {
        return RestClient.builder().baseUrl("http://localhost:" + this.port).build();
    }

}
