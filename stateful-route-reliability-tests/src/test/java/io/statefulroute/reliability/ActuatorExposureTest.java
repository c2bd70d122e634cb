package io.statefulroute.reliability;

import java.util.Map;

import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Over HTTP, in a running web application: the endpoint's write operation (drain) answers only
 * when the user exposes the endpoint, and not at all when access is read-only. The starter's own
 * tests prove the bean is absent when not exposed; this proves what a caller on the network gets.
 */
class ActuatorExposureTest {

    private static final RedisServer redis = RedisServers.shared();

    @Test
    void notExposedMeansNotFoundForReadAndWrite() {
        try (ConfigurableApplicationContext app = start("management.endpoints.web.exposure.include=health")) {
            RestClient rest = rest(app);
            assertThat(status(rest.get().uri("/actuator/health"))).isEqualTo(200);
            assertThat(status(rest.get().uri("/actuator/statefulroute"))).isEqualTo(404);
            assertThat(post(rest, Map.of("routingState", "DENY_NEW_CALL"))).isEqualTo(404);
        }
    }

    @Test
    void readOnlyAccessRefusesTheWriteOperation() {
        try (ConfigurableApplicationContext app = start("management.endpoints.web.exposure.include=statefulroute",
                "management.endpoint.statefulroute.access=read-only")) {
            RestClient rest = rest(app);
            assertThat(status(rest.get().uri("/actuator/statefulroute"))).isEqualTo(200);
            int write = post(rest, Map.of("routingState", "DENY_NEW_CALL"));
            Figures.print("actuator", "POST with access=read-only", write);
            assertThat(write).isIn(404, 405);
        }
    }

    @Test
    void exposedWithoutRestrictionTheWriteOperationDrains() {
        try (ConfigurableApplicationContext app = start("management.endpoints.web.exposure.include=statefulroute")) {
            assertThat(post(rest(app), Map.of("routingState", "DENY_NEW_CALL"))).isEqualTo(200);
        }
    }

    private static ConfigurableApplicationContext start(String... properties) {
        return new SpringApplicationBuilder(WebApplication.class)
            .properties("server.port=0", "spring.data.redis.host=" + redis.host(),
                    "spring.data.redis.port=" + redis.port(), "stateful-route.key-prefix=" + StarterContexts.uniquePrefix(),
                    "stateful-route.server.service=chat", "stateful-route.server.pod-index=0",
                    "stateful-route.server.drain-period=0s")
            .properties(properties)
            .run();
    }

    private static RestClient rest(ConfigurableApplicationContext app) {
        int port = ((WebServerApplicationContext) app).getWebServer().getPort();
        return RestClient.builder()
            .baseUrl("http://127.0.0.1:" + port)
            .defaultStatusHandler(HttpStatusCode::isError, (request, response) -> { })
            .build();
    }

    private static int status(RestClient.RequestHeadersSpec<?> request) {
        return request.retrieve().toBodilessEntity().getStatusCode().value();
    }

    private static int post(RestClient rest, Map<String, Object> body) {
        return status(rest.post().uri("/actuator/statefulroute").contentType(MediaType.APPLICATION_JSON).body(body));
    }

    /** An application with nothing but auto-configuration. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class WebApplication {

    }
}
