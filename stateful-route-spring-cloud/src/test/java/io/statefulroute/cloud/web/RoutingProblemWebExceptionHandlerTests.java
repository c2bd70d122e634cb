package io.statefulroute.cloud.web;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.time.Duration;
import java.util.Map;

import io.netty.channel.ConnectTimeoutException;
import io.statefulroute.cloud.loadbalancer.StatefulRouteServiceInstanceListSupplier;
import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.PodsAtCapacityException;
import org.junit.jupiter.api.Test;

import org.springframework.cloud.client.DefaultServiceInstance;
import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.loadbalancer.DefaultResponse;
import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class RoutingProblemWebExceptionHandlerTests {

    private final RoutingProblemWebExceptionHandler handler = new RoutingProblemWebExceptionHandler(
            ServerCodecConfigurer.create(), Duration.ofMillis(1500));

    /** The handler reads the gateway's attribute by name, without a dependency on the gateway: a rename must break this. */
    @Test
    void readsTheAttributeSpringCloudGatewayKeepsTheBalancersChoiceIn() {
        assertThat(RoutingProblemWebExceptionHandler.GATEWAY_LOADBALANCER_RESPONSE_ATTRIBUTE)
            .isEqualTo(ServerWebExchangeUtils.GATEWAY_LOADBALANCER_RESPONSE_ATTR);
    }

    @Test
    void aConnectionRefusedByAStatefulRoutePodIsA503PodUnavailableWithRetryAfter() {
        for (Exception refused : new Exception[] { new ConnectException("Connection refused: /10.4.0.19:8080"),
                new ConnectTimeoutException("connection timed out: /10.4.0.19:8080"),
                new NoRouteToHostException("No route to host") }) {
            MockServerWebExchange exchange = proxiedTo(podInstance("it", "2"));

            this.handler.handle(exchange, new IllegalStateException("proxying failed", refused)).block();

            assertThat(exchange.getResponse().getStatusCode()).as(refused.toString())
                .isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
            assertThat(exchange.getResponse().getHeaders().getFirst(HttpHeaders.RETRY_AFTER)).isEqualTo("2");
            assertThat(exchange.getResponse().getHeaders().getContentType())
                .isEqualTo(MediaType.APPLICATION_PROBLEM_JSON);
            // the pod's address is no client's business
            assertThat(exchange.getResponse().getBodyAsString().block()).contains("\"title\":\"Pod unavailable\"")
                .contains("Pod 2 of service 'lobby' in namespace 'it' does not accept connections")
                .doesNotContain("10.4.0.19");
        }
    }

    /** A service that is not stateful keeps Spring's own answer to a proxy error. */
    @Test
    void aConnectFailureToAnyOtherInstanceIsNotAnswered() {
        ConnectException refused = new ConnectException("Connection refused");
        assertNotAnswered(proxiedTo(new DefaultServiceInstance("orders-1", "orders", "127.0.0.1", 9000, false)),
                refused);
        assertNotAnswered(proxiedTo(podInstance(null, "2")), refused);
        assertNotAnswered(proxiedTo(podInstance("it", "two")), refused);
        assertNotAnswered(MockServerWebExchange.from(MockServerHttpRequest.get("/orders/1")), refused);
    }

    @Test
    void podsAtCapacityAre503PodsAtCapacityWithRetryAfter() {
        MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/lobby/alice/hello"));

        this.handler.handle(exchange, new IllegalStateException(new PodsAtCapacityException("it", "lobby", 3))).block();

        assertThat(exchange.getResponse().getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
        assertThat(exchange.getResponse().getHeaders().getFirst(HttpHeaders.RETRY_AFTER)).isEqualTo("2");
        assertThat(exchange.getResponse().getBodyAsString().block()).contains("\"title\":\"Pods at capacity\"")
            .contains("All 3 routable pods of service 'lobby' in namespace 'it' are at capacity");
    }

    @Test
    void anInvalidUidIsA400WithoutRetryAfter() {
        MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/lobby/alice/hello"));

        this.handler.handle(exchange, new InvalidRouteArgumentException("uid", "not valid")).block();

        assertThat(exchange.getResponse().getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(exchange.getResponse().getHeaders().getFirst(HttpHeaders.RETRY_AFTER)).isNull();
        assertThat(exchange.getResponse().getBodyAsString().block()).contains("\"title\":\"Invalid routing key\"");
    }

    private void assertNotAnswered(MockServerWebExchange exchange, Exception failure) {
        assertThatExceptionOfType(IllegalStateException.class)
            .isThrownBy(() -> this.handler.handle(exchange, new IllegalStateException(failure)).block());
        assertThat(exchange.getResponse().getStatusCode()).isNull();
    }

    private static MockServerWebExchange proxiedTo(ServiceInstance instance) {
        MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/lobby/alice/hello"));
        exchange.getAttributes().put(ServerWebExchangeUtils.GATEWAY_LOADBALANCER_RESPONSE_ATTR,
                new DefaultResponse(instance));
        return exchange;
    }

    private static ServiceInstance podInstance(String namespace, String podIndex) {
        Map<String, String> metadata = (namespace != null)
                ? Map.of(StatefulRouteServiceInstanceListSupplier.NAMESPACE_METADATA, namespace,
                        StatefulRouteServiceInstanceListSupplier.POD_INDEX_METADATA, podIndex)
                : Map.of(StatefulRouteServiceInstanceListSupplier.POD_INDEX_METADATA, podIndex);
        return new DefaultServiceInstance("lobby-2", "lobby", "10.4.0.19", 8080, false, metadata);
    }

}
