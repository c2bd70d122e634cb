package io.statefulroute.cloud.web;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.statefulroute.cloud.loadbalancer.PodAddressUnknownException;
import io.statefulroute.cloud.loadbalancer.PodUnavailableException;
import io.statefulroute.cloud.loadbalancer.PodUnreachableException;
import io.statefulroute.cloud.loadbalancer.StatefulRouteServiceInstanceListSupplier;
import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.PodsAtCapacityException;
import io.statefulroute.core.RedisUnavailableException;

import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.loadbalancer.Response;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.codec.HttpMessageWriter;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.reactive.result.view.ViewResolver;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;

import reactor.core.publisher.Mono;

/**
 * Answers a request that could not be routed to its user's pod with a problem detail
 * (RFC 9457): {@code 503} when no pod can take a new user (none is routable, or every
 * routable pod is at its capacity: title "Pods at capacity"), when Redis does not answer for a
 * user who is not cached, when the user's pod advertises no address, or when it is dead
 * and the user waits for its lease to lapse (all with {@code Retry-After}); {@code 400} for a
 * uid stateful-route refuses (blank, too long, not valid UTF-16, malformed percent-encoding).
 *
 * <p>A pod that crashed is dead for the gateways only once its last heartbeat is older than
 * the pod expiry; until then a Spring Cloud Gateway proxies its users' requests to its address,
 * where nothing accepts the connection. That failure, for a request the gateway's balancer
 * sent to a stateful-route pod, is a {@code 503} as well: the pod is unavailable, and its
 * users wait for its lease to lapse like those of a pod known dead. Nothing reached the pod,
 * so the request is safe to retry.
 *
 * <p>Ordered before Spring Boot's error handler; other errors pass through to it.
 */
public final class RoutingProblemWebExceptionHandler implements WebExceptionHandler, Ordered {

    /** Before Spring Boot's {@code ErrorWebExceptionHandler} (-1). */
    public static final int ORDER = -2;

    /**
     * Exchange attribute in which Spring Cloud Gateway's {@code ReactiveLoadBalancerClientFilter}
     * keeps the balancer's {@code Response}: the instance the request is proxied to.
     */
    static final String GATEWAY_LOADBALANCER_RESPONSE_ATTRIBUTE =
            "org.springframework.cloud.gateway.support.ServerWebExchangeUtils.gatewayLoadBalancerResponse";

    private final List<HttpMessageWriter<?>> writers;

    private final String retryAfterSeconds;

    /**
     * @param retryAfter what {@code Retry-After} tells a client when Redis is unavailable,
     * rounded up to whole seconds
     */
    public RoutingProblemWebExceptionHandler(ServerCodecConfigurer codecs, Duration retryAfter) {
        this.writers = codecs.getWriters();
        this.retryAfterSeconds = Long.toString(Math.max(1, (retryAfter.toMillis() + 999) / 1000));
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
        Throwable cause = routingCause(exchange, ex);
        if (cause == null || exchange.getResponse().isCommitted()) {
            return Mono.error(ex);
        }
        HttpStatus status = (cause instanceof InvalidRouteArgumentException) ? HttpStatus.BAD_REQUEST
                : HttpStatus.SERVICE_UNAVAILABLE;
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, cause.getMessage());
        problem.setTitle(title(cause));
        problem.setInstance(URI.create(exchange.getRequest().getPath().value()));
        return ServerResponse.status(status)
            .contentType(MediaType.APPLICATION_PROBLEM_JSON)
            .headers((headers) -> {
                if (status == HttpStatus.SERVICE_UNAVAILABLE) {
                    headers.set(HttpHeaders.RETRY_AFTER, this.retryAfterSeconds);
                }
            })
            .bodyValue(problem)
            .flatMap((response) -> response.writeTo(exchange, new ServerResponse.Context() {

                @Override
                public List<HttpMessageWriter<?>> messageWriters() {
                    return RoutingProblemWebExceptionHandler.this.writers;
                }

                @Override
                public List<ViewResolver> viewResolvers() {
                    return List.of();
                }

            }));
    }

    private static Throwable routingCause(ServerWebExchange exchange, Throwable ex) {
        for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
            if (cause instanceof NoRoutablePodException || cause instanceof RedisUnavailableException
                    || cause instanceof PodUnreachableException
                    || cause instanceof InvalidRouteArgumentException) {
                return cause;
            }
            if (cause instanceof ConnectException || cause instanceof NoRouteToHostException) {
                return unavailablePod(exchange, cause);
            }
        }
        return null;
    }

    /** The pod the request was to be proxied to, if the balancer chose a stateful-route pod; else null. */
    private static PodUnavailableException unavailablePod(ServerWebExchange exchange, Throwable connectFailure) {
        Object chosen = exchange.getAttribute(GATEWAY_LOADBALANCER_RESPONSE_ATTRIBUTE);
        if (!(chosen instanceof Response<?> response && response.getServer() instanceof ServiceInstance instance)) {
            return null;
        }
        Map<String, String> metadata = instance.getMetadata();
        String namespace = (metadata != null) ? metadata.get(StatefulRouteServiceInstanceListSupplier.NAMESPACE_METADATA)
                : null;
        String pod = (metadata != null) ? metadata.get(StatefulRouteServiceInstanceListSupplier.POD_INDEX_METADATA)
                : null;
        if (namespace == null || pod == null) {
            return null;
        }
        try {
            return new PodUnavailableException(namespace, instance.getServiceId(), Integer.parseInt(pod), connectFailure);
        }
        catch (NumberFormatException ex) {
            return null;
        }
    }

    private static String title(Throwable cause) {
        if (cause instanceof PodsAtCapacityException) {
            return "Pods at capacity";
        }
        if (cause instanceof NoRoutablePodException) {
            return "No routable pod";
        }
        if (cause instanceof RedisUnavailableException) {
            return "Routing table unavailable";
        }
        if (cause instanceof PodAddressUnknownException) {
            return "Pod address unknown";
        }
        if (cause instanceof PodUnavailableException) {
            return "Pod unavailable";
        }
        return "Invalid routing key";
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

}
