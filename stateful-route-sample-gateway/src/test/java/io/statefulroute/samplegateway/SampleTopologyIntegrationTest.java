package io.statefulroute.samplegateway;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocket.Listener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.sample.LobbyApplication;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The sample as a real topology, in one JVM: the sample's gateway application (Spring Cloud
 * Gateway, reactive) in front of two lobby pods (the sample application as one pod each, a
 * servlet web server), all on random loopback ports and a real Redis. A player's requests go
 * through the gateway and are answered by one pod, which holds the player.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SampleTopologyIntegrationTest {

    private static final int PODS = 2;

    private static final int PLAYERS = 40;

    private static final int REQUESTS_PER_PLAYER = 5;

    /** Spring Cloud Gateway's auto-configurations, none of which a lobby pod has. */
    private static final List<String> GATEWAY_AUTO_CONFIGURATIONS = Stream.of("GatewayClassPathWarningAutoConfiguration",
            "GatewayAutoConfiguration", "GatewayResilience4JCircuitBreakerAutoConfiguration",
            "GatewayNoLoadBalancerClientAutoConfiguration", "GatewayFunctionAutoConfiguration",
            "GatewayMetricsAutoConfiguration", "GatewayRedisAutoConfiguration", "GatewayStreamAutoConfiguration",
            "SimpleUrlHandlerMappingGlobalCorsAutoConfiguration", "GatewayReactiveLoadBalancerClientAutoConfiguration",
            "LocalResponseCacheAutoConfiguration", "GatewayTracingAutoConfiguration")
        .map((name) -> "org.springframework.cloud.gateway.config." + name)
        .toList();

    private RedisServer redis;

    private final String keyPrefix = "topology-" + UUID.randomUUID().toString().substring(0, 8);

    private final List<ConfigurableApplicationContext> pods = new ArrayList<>();

    private ConfigurableApplicationContext gateway;

    @BeforeAll
    void start() {
        this.redis = RedisServers.standalone().start();
        for (int index = 0; index < PODS; index++) {
            // On this shared test class path the gateway's application.yml is the one found, so
            // the pod's own settings (service, demo load off) are given here.
            this.pods.add(run(LobbyApplication.class, WebApplicationType.SERVLET, Map.of(
                    "stateful-route.server.enabled", true,
                    "stateful-route.server.service", "lobby",
                    "stateful-route.server.pod-index", index,
                    "stateful-route.server.advertised-address.host", "127.0.0.1",
                    "stateful-route.server.drain-period", "100ms",
                    "stateful-route.loadbalancer.enabled", false,
                    "sample.demo.enabled", false)));
        }
        this.gateway = run(LobbyGatewayApplication.class, WebApplicationType.REACTIVE, Map.of());
        // a first request makes the gateway track the lobby; then it has both pods' addresses
        // (from their heartbeats) before the players come
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().untilAsserted(() -> {
            http(this.gateway).get().uri("/lobby/{uid}", "warm-up").retrieve().toBodilessEntity();
            assertThat(http(this.gateway).get().uri("/actuator/statefulroute").retrieve().body(String.class))
                .contains("\"port\":" + port(this.pods.get(0))).contains("\"port\":" + port(this.pods.get(1)));
        });
    }

    private ConfigurableApplicationContext run(Class<?> application, WebApplicationType type,
            Map<String, Object> properties) {
        Map<String, Object> all = new HashMap<>(properties);
        all.put("server.port", 0);
        all.put("spring.data.redis.host", this.redis.host());
        all.put("spring.data.redis.port", this.redis.port());
        all.put("stateful-route.key-prefix", this.keyPrefix);
        all.put("stateful-route.state.pod-expiry", "3s");
        all.put("stateful-route.state.refresh-period", "100ms");
        all.put("stateful-route.server.heartbeat-period", "100ms");
        // Each real application has only its own class path; this one has both, so the gateway
        // is kept out of the pods and its refusal of Spring MVC (the pods') out of the gateway.
        all.put("spring.autoconfigure.exclude", (type == WebApplicationType.SERVLET) ? GATEWAY_AUTO_CONFIGURATIONS
                : List.of("org.springframework.cloud.gateway.config.GatewayClassPathWarningAutoConfiguration"));
        all.put("spring.main.banner-mode", "off");
        all.put("logging.level.root", "WARN");
        // as command-line arguments, which win over the application.yml on the class path
        String[] arguments = all.entrySet().stream().map((entry) -> "--" + entry.getKey() + "=" + (
                (entry.getValue() instanceof List<?> list) ? String.join(",", list.stream().map(String::valueOf).toList())
                        : entry.getValue()))
            .toArray(String[]::new);
        return new SpringApplicationBuilder(application).web(type).run(arguments);
    }

    @AfterAll
    void stop() {
        if (this.gateway != null) {
            this.gateway.close();
        }
        this.pods.forEach(ConfigurableApplicationContext::close);
        this.redis.close();
    }

    @Test
    void everyRequestOfAPlayerThroughTheGatewayReachesThePodHoldingThePlayer() {
        RestClient viaGateway = http(this.gateway);
        Map<String, Set<Integer>> podsSeen = new TreeMap<>();
        for (int request = 0; request < REQUESTS_PER_PLAYER; request++) {
            for (int player = 0; player < PLAYERS; player++) {
                String uid = "player-" + player;
                Map<String, Object> arrival = viaGateway.get().uri("/lobby/{uid}", uid).retrieve()
                    .body(new ParameterizedTypeReference<>() { });
                assertThat(arrival).containsEntry("uid", uid);
                podsSeen.computeIfAbsent(uid, (u) -> new TreeSet<>()).add((Integer) arrival.get("pod"));
            }
        }

        assertThat(podsSeen).hasSize(PLAYERS).allSatisfy((uid, seen) -> assertThat(seen).as(uid).hasSize(1));
        Set<Integer> used = new TreeSet<>();
        podsSeen.forEach((uid, seen) -> {
            int pod = seen.iterator().next();
            used.add(pod);
            assertThat(this.pods.get(pod).getBean(StatefulRouteForServerDriver.class).heldUsers()).as(uid).contains(uid);
        });
        assertThat(used).containsExactly(0, 1);
    }

    @Test
    void aPlayersChatSessionThroughTheGatewayReachesThePodOfItsRequests() throws Exception {
        RestClient viaGateway = http(this.gateway);
        for (int player = 0; player < 6; player++) {
            String uid = "chatter-" + player;
            Map<String, Object> arrival = viaGateway.get().uri("/lobby/{uid}", uid).retrieve()
                .body(new ParameterizedTypeReference<>() { });
            String pod = "pod-" + arrival.get("pod") + " ";
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            WebSocket socket = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + port(this.gateway) + "/lobby/" + uid + "/ws"), new Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                        received.add(data.toString());
                        webSocket.request(1);
                        return null;
                    }
                })
                .get(10, TimeUnit.SECONDS);
            assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo(pod + "welcome " + uid);
            socket.sendText("hello", true).get(10, TimeUnit.SECONDS);
            assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo(pod + uid + ": hello");
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void everySampleApplicationServesPrometheus() {
        http(this.gateway).get().uri("/lobby/{uid}", "scraped").retrieve().toBodilessEntity();
        assertThat(http(this.gateway).get().uri("/actuator/prometheus").retrieve().body(String.class))
            .contains("statefulroute_routing_decisions_seconds_count{namespace=\"demo\"");
        for (ConfigurableApplicationContext pod : this.pods) {
            assertThat(http(pod).get().uri("/actuator/prometheus").retrieve().body(String.class))
                .contains("statefulroute_");
        }
    }

    private static RestClient http(ConfigurableApplicationContext context) {
        return RestClient.create("http://127.0.0.1:" + port(context));
    }

    private static int port(ConfigurableApplicationContext context) {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

}
