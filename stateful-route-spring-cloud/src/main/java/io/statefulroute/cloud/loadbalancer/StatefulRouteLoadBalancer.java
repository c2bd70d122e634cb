package io.statefulroute.cloud.loadbalancer;

import java.util.concurrent.CompletableFuture;

import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.state.PodState;

import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.loadbalancer.DefaultRequestContext;
import org.springframework.cloud.client.loadbalancer.Request;
import org.springframework.cloud.client.loadbalancer.RequestData;
import org.springframework.cloud.client.loadbalancer.Response;
import org.springframework.cloud.loadbalancer.core.ReactorServiceInstanceLoadBalancer;

import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Sends each request to the pod linked to its user: the uid comes from the
 * {@link UidResolver}, the pod from {@link StatefulRouteForClientDriver#computeLinkedPodAsync}
 * (from the link cache, else one Redis round trip that links a new user to the best
 * routable pod), its address from the pod's heartbeat. Never blocks: the choice completes
 * on the caller's thread for a cached user, else on Reactor's parallel scheduler.
 *
 * <p>A request without a uid goes to the pod the configured selection strategy picks among
 * the routable pods, and creates no link. The response {@code Mono} fails with
 * {@link NoRoutablePodException} when a new user finds no routable pod (a
 * {@link io.statefulroute.core.PodsAtCapacityException} when all are at capacity),
 * {@link io.statefulroute.core.RedisUnavailableException} when Redis does not answer for a
 * user who is not cached, {@link PodAddressUnknownException} when the user's pod
 * advertises no address, {@link PodUnavailableException} when the user's pod is dead but
 * its lease may not have lapsed yet (the user is moved only after that), and
 * {@link io.statefulroute.core.InvalidRouteArgumentException} when the uid is refused. The
 * response is a {@link PodChoice}: it also names the user and the pod.
 */
public final class StatefulRouteLoadBalancer implements ReactorServiceInstanceLoadBalancer {

    private final String namespace;

    private final String service;

    private final StatefulRouteForClientDriver client;

    private final RouteInfoDriver routeInfo;

    private final StatefulRouteServiceInstanceListSupplier instances;

    private final UidResolver uids;

    /**
     * @param instances the pods of the service, whose service id names the stateful service
     * @param uids tells the user of a request
     */
    public StatefulRouteLoadBalancer(StatefulRouteForClientDriver client,
            StatefulRouteServiceInstanceListSupplier instances, UidResolver uids) {
        this.client = RouteArguments.requireNonNull("client", client);
        this.instances = RouteArguments.requireNonNull("instances", instances);
        this.uids = RouteArguments.requireNonNull("uids", uids);
        this.namespace = client.options().localNamespace();
        this.service = instances.getServiceId();
        this.routeInfo = client.routeInfo();
    }

    /** The pods this balancer chooses among. */
    public StatefulRouteServiceInstanceListSupplier instances() {
        return this.instances;
    }

    @Override
    public Mono<Response<ServiceInstance>> choose(Request request) {
        long decidedAt = System.nanoTime();
        return this.uids.resolve(requestData(request))
            .flatMap((uid) -> mono(this.client.computeLinkedPodAsync(this.namespace, uid, this.service))
                .flatMap((pod) -> choice(uid, pod, decidedAt)))
            .switchIfEmpty(Mono.defer(() -> routablePod().flatMap((pod) -> choice(null, pod, decidedAt))));
    }

    private Mono<Response<ServiceInstance>> choice(String uid, int pod, long decidedAt) {
        return this.instances.instance(pod)
            .<Response<ServiceInstance>>map((instance) -> new PodChoice(instance, this.namespace, uid, this.service,
                    pod, decidedAt));
    }

    private Mono<Integer> routablePod() {
        return mono(this.routeInfo.states().viewAsync(this.namespace, this.service)).flatMap((view) -> {
            PodState pod = this.routeInfo.select(view);
            return (pod != null) ? Mono.just(pod.podIndex()) : Mono.error(this.routeInfo.noPodFor(view));
        });
    }

    /**
     * A future that is already complete (a cached user, a cached discovery list) spares the
     * request the subscription machinery. Any other may complete on a client's I/O thread
     * (Redis', the discovery client's); the rest of the request (the proxying) must not run
     * there, where it would delay every other reply.
     */
    static <T> Mono<T> mono(CompletableFuture<T> future) {
        return (future.isDone() && !future.isCompletedExceptionally()) ? Mono.just(future.join())
                : Mono.fromFuture(future, true).publishOn(Schedulers.parallel());
    }

    private static RequestData requestData(Request<?> request) {
        Object context = (request != null) ? request.getContext() : null;
        return (context instanceof DefaultRequestContext defaults
                && defaults.getClientRequest() instanceof RequestData data) ? data : null;
    }

}
