package io.statefulroute.cloud.web;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import io.statefulroute.cloud.loadbalancer.PodAddressUnknownException;
import io.statefulroute.cloud.loadbalancer.PodUnavailableException;
import io.statefulroute.cloud.loadbalancer.PodUnreachableException;
import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.RedisUnavailableException;

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
 * (RFC 9457): {@code 503} when no pod can take a new user, when Redis does not answer for a
 * user who is not cached, when the user's pod advertises no address, or when it is dead
 * and the user waits for its lease to lapse (all with {@code Retry-After}); {@code 400} for a uid stateful-route refuses (blank, too long, not valid UTF-16).
 * Ordered before Spring Boot's error handler; other errors pass through to it.
 */
public final class RoutingProblemWebExceptionHandler implements WebExceptionHandler, Ordered {

    /** Before Spring Boot's {@code ErrorWebExceptionHandler} (-1). */
    public static final int ORDER = -2;

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
        Throwable cause = routingCause(ex);
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

    private static Throwable routingCause(Throwable ex) {
        for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
            if (cause instanceof NoRoutablePodException || cause instanceof RedisUnavailableException
                    || cause instanceof PodUnreachableException
                    || cause instanceof InvalidRouteArgumentException) {
                return cause;
            }
        }
        return null;
    }

    private static String title(Throwable cause) {
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
