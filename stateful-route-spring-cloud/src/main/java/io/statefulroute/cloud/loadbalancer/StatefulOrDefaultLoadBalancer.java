package io.statefulroute.cloud.loadbalancer;

import io.statefulroute.core.RouteArguments;

import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.loadbalancer.Request;
import org.springframework.cloud.client.loadbalancer.Response;
import org.springframework.cloud.loadbalancer.core.ReactorLoadBalancer;
import org.springframework.cloud.loadbalancer.core.ReactorServiceInstanceLoadBalancer;

import reactor.core.publisher.Mono;

/**
 * The balancer of one load-balanced service: a request to a stateful service goes to its
 * user's pod ({@link StatefulRouteLoadBalancer}), a request to any other service to the
 * balancer Spring Cloud LoadBalancer would use without stateful-route (round robin over the
 * discovery client's instances), so that adding stateful-route leaves an application's other
 * load-balanced calls as they were. Which one is decided per request by a
 * {@link StatefulServiceCheck}, from memory.
 */
public final class StatefulOrDefaultLoadBalancer implements ReactorServiceInstanceLoadBalancer {

    private final StatefulServiceCheck check;

    private final StatefulRouteLoadBalancer stateful;

    private final ReactorLoadBalancer<ServiceInstance> fallback;

    /**
     * @param check tells whether the service is stateful
     * @param stateful the balancer of a stateful service
     * @param fallback the balancer of a service that is not stateful
     */
    public StatefulOrDefaultLoadBalancer(StatefulServiceCheck check, StatefulRouteLoadBalancer stateful,
            ReactorLoadBalancer<ServiceInstance> fallback) {
        this.check = RouteArguments.requireNonNull("check", check);
        this.stateful = RouteArguments.requireNonNull("stateful", stateful);
        this.fallback = RouteArguments.requireNonNull("fallback", fallback);
    }

    /** The balancer of the service while it is stateful. */
    public StatefulRouteLoadBalancer statefulBalancer() {
        return this.stateful;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Mono<Response<ServiceInstance>> choose(Request request) {
        Boolean known = this.check.knownAnswer();
        if (known != null) {
            return choose(known, request);
        }
        return this.check.check().flatMap((stateful) -> choose(stateful, request));
    }

    @SuppressWarnings({ "rawtypes", "unchecked" })
    private Mono<Response<ServiceInstance>> choose(boolean stateful, Request request) {
        return stateful ? this.stateful.choose(request) : this.fallback.choose(request);
    }

}
