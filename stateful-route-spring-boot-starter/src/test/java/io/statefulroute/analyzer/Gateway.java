package io.statefulroute.analyzer;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.StringCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.statefulroute.actuate.StatefulRouteMeterBinder;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.metrics.MicrometerRouteListener;
import io.statefulroute.testsupport.RedisServer;

/**
 * A gateway that is also pod 0 of "chat", wired like the starter wires it, recording into a
 * {@link SimpleMeterRegistry}; plus the other pods of the service, as separate processes
 * would be (their own, uninstrumented connection).
 */
final class Gateway implements AutoCloseable {

    static final String SERVICE = "chat";

    final String namespace = "ns-" + UUID.randomUUID().toString().substring(0, 8);

    final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    final MicrometerRouteListener metrics;

    final RedisStatefulExecutor executor;

    final ServiceStateCache states;

    final StatefulRouteForClientDriver client;

    final StatefulRouteForServerDriver pod;

    private final RedisClient redisClient;

    private final RedisStatefulExecutor otherPods;

    Gateway(RedisServer redis, Duration commandTimeout) {
        this.redisClient = RedisClient.create(redis.uri());
        AtomicReference<ServiceStateCache> states = new AtomicReference<>();
        this.metrics = new MicrometerRouteListener(this.registry, states::get);
        this.executor = RedisStatefulExecutor.builder()
            .ownedConnection(this.redisClient.connect(StringCodec.UTF8))
            .commandTimeout(commandTimeout)
            .callListener(this.metrics)
            .build();
        this.states = new ServiceStateCache(this.executor, Duration.ofSeconds(5));
        states.set(this.states);
        this.client = new StatefulRouteForClientDriver(this.executor,
                new RouteInfoDriver(this.states, PodSelectionStrategy.LOAD_AWARE.newSelector()),
                new ClientOptions(this.namespace, Duration.ofSeconds(300), Duration.ofSeconds(240), 10_000),
                this.metrics);
        this.pod = new StatefulRouteForServerDriver(this.executor,
                new ServerOptions(new PodIdentity(this.namespace, SERVICE, 0), 0, Duration.ZERO));
        this.otherPods = RedisStatefulExecutor.builder()
            .ownedConnection(this.redisClient.connect(StringCodec.UTF8))
            .build();
        new StatefulRouteMeterBinder(this.client, this.pod).bindTo(this.registry);
    }

    /** Starts this pod (READY, load 0) and publishes the other pods' states. */
    Gateway withPods(RoutingState state, double... otherLoads) {
        this.pod.setRoutingState(state);
        this.pod.start();
        for (int i = 0; i < otherLoads.length; i++) {
            this.otherPods.setServiceState(this.namespace, SERVICE, i + 1, state, otherLoads[i]);
        }
        return this;
    }

    /** Publishes this pod's load with a heartbeat. */
    void load(int load) {
        this.pod.setLoadState(load);
        this.pod.heartbeat();
    }

    int route(String uid) {
        return this.client.computeLinkedPod(this.namespace, uid, SERVICE);
    }

    /** A scheduled state refresh, as the starter's lifecycle runs and reports it. */
    void refresh() {
        long started = System.nanoTime();
        Throwable error = null;
        try {
            this.states.refresh();
        }
        catch (RuntimeException ex) {
            error = ex;
        }
        this.metrics.refreshed(System.nanoTime() - started, error);
    }

    PerformanceAnalyzer analyzer(List<PerformanceRule> rules) {
        return new PerformanceAnalyzer(this.registry, rules, Duration.ofMinutes(5));
    }

    String subject() {
        return this.namespace + "/" + SERVICE;
    }

    @Override
    public void close() {
        this.otherPods.close();
        this.executor.close();
        this.redisClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }

}
