package io.statefulroute.cloud.loadbalancer;

import org.springframework.cloud.client.loadbalancer.RequestData;

import reactor.core.publisher.Mono;

/**
 * Tells which user a load-balanced request belongs to: the routing key of stateful-route.
 * Runs on the caller's thread (a Netty event loop in a gateway), so it must not block.
 */
@FunctionalInterface
public interface UidResolver {

    /**
     * The request's uid, or an empty {@code Mono} when it carries none (then the request goes
     * to a routable pod and creates no link), or an error with
     * {@link io.statefulroute.core.InvalidRouteArgumentException} when it carries one that
     * cannot be read (a gateway answers {@code 400}).
     * @param request the request being balanced, or null when the caller gave none
     */
    Mono<String> resolve(RequestData request);

}
