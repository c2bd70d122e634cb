package io.statefulroute.cloud.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A Spring Cloud Gateway in front of two real pods that declare a capacity of
 * {@value #CAPACITY} users each and take every user on its first request: once both are full, a
 * new user gets {@code 503 Pods at capacity} with {@code Retry-After}, while the users they hold
 * keep reaching them; when a user leaves, a new one gets in.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GatewayCapacityIntegrationTest {

    private static final int CAPACITY = 3;

    private static final String NAMESPACE = "it";

    private RedisServer redis;

    private final String keyPrefix = "cap-" + UUID.randomUUID().toString().substring(0, 8);

    private final List<ConfigurableApplicationContext> pods = new ArrayList<>();

    private ConfigurableApplicationContext gateway;

    private final HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();

    @BeforeAll
    void start() {
        this.redis = RedisServers.standalone().start();
        for (int pod = 0; pod < 2; pod++) {
            this.pods.add(run(TakingPodApplication.class, Map.of(
                    "stateful-route.server.service", "lobby",
                    "stateful-route.server.pod-index", pod,
                    "stateful-route.server.advertised-address.host", "127.0.0.1",
                    "stateful-route.server.drain-period", "100ms",
                    "stateful-route.server.capacity.users", CAPACITY,
                    "stateful-route.loadbalancer.enabled", false)));
        }
        this.gateway = run(LobbyGatewayApplication.class, Map.of(
                "stateful-route.loadbalancer.uid.source", "path-segment",
                "stateful-route.loadbalancer.uid.path-segment", 1,
                "spring.cloud.gateway.server.webflux.routes[0].id", "lobby",
                "spring.cloud.gateway.server.webflux.routes[0].uri", "lb://lobby",
                "spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/lobby/**"));
    }

    private ConfigurableApplicationContext run(Class<?> application, Map<String, Object> properties) {
        Map<String, Object> all = new HashMap<>(properties);
        all.put("server.port", 0);
        all.put("spring.data.redis.host", this.redis.host());
        all.put("spring.data.redis.port", this.redis.port());
        all.put("stateful-route.key-prefix", this.keyPrefix);
        all.put("stateful-route.namespace", NAMESPACE);
        all.put("stateful-route.state.refresh-period", "100ms");
        all.put("stateful-route.server.heartbeat-period", "100ms");
        all.put("spring.main.banner-mode", "off");
        all.put("logging.level.root", "WARN");
        return new SpringApplicationBuilder(application).web(WebApplicationType.REACTIVE).properties(all).run();
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
    void newUsersGet503AtCapacityWhileHeldUsersKeepFlowing() throws Exception {
        Map<String, String> podOfUser = new HashMap<>();
        while (podOfUser.size() < 2 * CAPACITY) {
            String uid = "user-" + podOfUser.size();
            // refused while a pod still has room: the gateway may count its last new user twice
            // (its own count and the pod's) until the pod's next count; the user asks again
            HttpResponse<String> response = await().atMost(Duration.ofSeconds(10)).until(() -> get(uid),
                    (answer) -> answer.statusCode() == 200);
            podOfUser.put(uid, response.body());
        }
        HttpResponse<String> refused = get("newcomer");

        assertThat(podOfUser.values().stream().filter("pod-0"::equals).count()).isEqualTo(CAPACITY);
        assertThat(List.of(held(0), held(1))).containsExactly(CAPACITY, CAPACITY);

        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).isPresent();
        assertThat(refused.headers().firstValue("Content-Type"))
            .hasValueSatisfying((type) -> assertThat(type).startsWith("application/problem+json"));
        assertThat(refused.body()).contains("\"title\":\"Pods at capacity\"").contains("\"status\":503");
        for (Map.Entry<String, String> user : podOfUser.entrySet()) {
            assertThat(get(user.getKey()).body()).isEqualTo(user.getValue());
        }

        // a user leaves pod 1; once the gateway reads its count, the next new user gets in there
        server(1).removeLinkedPod(podOfUser.entrySet().stream().filter((user) -> user.getValue().equals("pod-1"))
            .findFirst().orElseThrow().getKey(), 0);
        HttpResponse<String> admitted = await().atMost(Duration.ofSeconds(10)).until(() -> get("newcomer"),
                (answer) -> answer.statusCode() == 200);
        assertThat(admitted.body()).isEqualTo("pod-1");
        assertThat(get("second-newcomer").statusCode()).isEqualTo(503);
    }

    private int held(int pod) {
        return server(pod).heldUsers().size();
    }

    private HttpResponse<String> get(String uid) throws Exception {
        int port = ((WebServerApplicationContext) this.gateway).getWebServer().getPort();
        return this.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/lobby/" + uid + "/hello"))
            .timeout(Duration.ofSeconds(10))
            .build(), HttpResponse.BodyHandlers.ofString());
    }

    private StatefulRouteForServerDriver server(int pod) {
        return this.pods.get(pod).getBean(StatefulRouteForServerDriver.class);
    }

    /** A lobby pod that takes each user on its first request: it holds the user until the user leaves. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class TakingPodApplication {

        @Bean
        RouterFunction<ServerResponse> lobby(StatefulRouteForServerDriver pod) {
            String name = "pod-" + pod.identity().podIndex();
            return RouterFunctions.route()
                .GET("/lobby/{uid}/hello", (request) -> Mono.fromRunnable(() -> {
                    String uid = request.pathVariable("uid");
                    if (!pod.owns(uid)) {
                        pod.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
                    }
                }).subscribeOn(Schedulers.boundedElastic()).then(ServerResponse.ok().bodyValue(name)))
                .build();
        }

    }

}
