package io.statefulroute.actuate;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import org.jspecify.annotations.Nullable;

/**
 * Micrometer meters of stateful-route, read from the drivers' own statistics when a
 * registry is scraped (nothing is recorded on the request path):
 *
 * <ul>
 * <li>{@code statefulroute.link.cache.size}, {@code statefulroute.link.cache.requests}
 * ({@code result=hit|miss}), {@code statefulroute.link.cache.evictions}
 * <li>{@code statefulroute.state.cache.services},
 * {@code statefulroute.state.cache.refreshes} ({@code result=success|failure})
 * <li>on a pod ({@code service}, {@code pod} tags): {@code statefulroute.pod.load.score},
 * {@code statefulroute.pod.routing.state} (1 for the current {@code state}, 0 for the
 * others), {@code statefulroute.heartbeat.failures} (consecutive)
 * </ul>
 */
public class StatefulRouteMeterBinder implements MeterBinder {

    private final StatefulRouteForClientDriver client;

    private final ServiceStateCache states;

    private final @Nullable StatefulRouteForServerDriver server;

    public StatefulRouteMeterBinder(StatefulRouteForClientDriver client, @Nullable StatefulRouteForServerDriver server) {
        this.client = client;
        this.states = client.routeInfo().states();
        this.server = server;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        StatefulRouteForClientDriver client = this.client;
        Gauge.builder("statefulroute.link.cache.size", client, (c) -> c.cacheStats().size())
            .description("Links in the local link cache")
            .register(registry);
        FunctionCounter.builder("statefulroute.link.cache.requests", client, (c) -> c.cacheStats().hits())
            .tags("result", "hit")
            .description("Lookups of the local link cache")
            .register(registry);
        FunctionCounter.builder("statefulroute.link.cache.requests", client, (c) -> c.cacheStats().misses())
            .tags("result", "miss")
            .description("Lookups of the local link cache")
            .register(registry);
        FunctionCounter.builder("statefulroute.link.cache.evictions", client, (c) -> c.cacheStats().evictions())
            .description("Links dropped from the local link cache for size or expiry")
            .register(registry);
        Gauge.builder("statefulroute.state.cache.services", this.states, (s) -> s.stats().services())
            .description("Services known to the pod state cache")
            .register(registry);
        FunctionCounter.builder("statefulroute.state.cache.refreshes", this.states, (s) -> s.stats().refreshes())
            .tags("result", "success")
            .description("Refresh cycles of the pod state cache")
            .register(registry);
        FunctionCounter.builder("statefulroute.state.cache.refreshes", this.states, (s) -> s.stats().refreshFailures())
            .tags("result", "failure")
            .description("Refresh cycles of the pod state cache")
            .register(registry);
        if (this.server != null) {
            bindPod(registry, this.server);
        }
    }

    private static void bindPod(MeterRegistry registry, StatefulRouteForServerDriver server) {
        PodIdentity identity = server.identity();
        Tags tags = Tags.of("namespace", identity.namespace(), "service", identity.service(), "pod",
                Integer.toString(identity.podIndex()));
        Gauge.builder("statefulroute.pod.load.score", server, StatefulRouteForServerDriver::loadScore)
            .tags(tags)
            .description("Load score this pod publishes")
            .register(registry);
        for (RoutingState state : RoutingState.values()) {
            Gauge.builder("statefulroute.pod.routing.state", server, (s) -> (s.getRoutingState() == state) ? 1 : 0)
                .tags(tags.and("state", state.name()))
                .description("Routing state of this pod: 1 for the current state")
                .register(registry);
        }
        Gauge.builder("statefulroute.heartbeat.failures", server, (s) -> s.heartbeatStatus().consecutiveFailures())
            .tags(tags)
            .description("Heartbeats of this pod that failed since the last success")
            .register(registry);
    }

}
