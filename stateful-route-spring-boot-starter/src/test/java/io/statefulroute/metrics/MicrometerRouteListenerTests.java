package io.statefulroute.metrics;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.UUID;

import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.StringCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.statefulroute.core.link.RouteOutcome;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The routing timer on the cache hit path, and the per-service gauges over pod states in a
 * real Redis.
 */
class MicrometerRouteListenerTests {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    private final MicrometerRouteListener listener = new MicrometerRouteListener(this.registry, () -> null);

    @Test
    void cacheHitsAreTimedPerServiceWithoutAllocating() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        String namespace = "prod";
        String service = "chat";
        // first sight registers the timer; then the JIT settles
        for (int i = 0; i < 20_000; i++) {
            this.listener.cacheHit(namespace, service, 1_000);
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 100_000; i++) {
            this.listener.cacheHit(namespace, service, 1_000);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        // a single allocation per call would be >= 1.6 MB; allow the measurement's own noise
        assertThat(allocated).isLessThan(64 * 1024);
        assertThat(this.registry.get(StatefulRouteMeters.ROUTING)
            .tags("namespace", namespace, "service", service, "outcome", "cache_hit")
            .timer()
            .count()).isEqualTo(120_000);
    }

    @Test
    void outcomesHaveTheirOwnTimer() {
        this.listener.resolved(null, "prod", "chat", RouteOutcome.NEW_LINK, 2_000_000, null);
        this.listener.resolved(null, "prod", "chat", RouteOutcome.ERROR, 3_000_000, new RuntimeException());
        assertThat(this.registry.find(StatefulRouteMeters.ROUTING).timers()).hasSize(2);
        assertThat(this.registry.get(StatefulRouteMeters.ROUTING).tag("outcome", "error").timer().totalTime(
                java.util.concurrent.TimeUnit.MILLISECONDS)).isEqualTo(3);
    }

    @Test
    void deadPodsAreThoseThatStoppedHeartbeatingWithoutShuttingDown() {
        RedisServer redis = RedisServers.shared();
        RedisClient redisClient = RedisClient.create(redis.uri());
        String namespace = "ns-" + UUID.randomUUID().toString().substring(0, 8);
        try (RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
            .ownedConnection(redisClient.connect(StringCodec.UTF8))
            .keyPrefix("sr-meters")
            .build()) {
            ServiceStateCache states = new ServiceStateCache(executor, Duration.ofMillis(500));
            MicrometerRouteListener listener = new MicrometerRouteListener(this.registry, () -> states);
            executor.setServiceState(namespace, "chat", 0, RoutingState.READY, 1);
            executor.setServiceState(namespace, "chat", 1, RoutingState.DENY_NEW_CALL, 1);
            executor.setServiceState(namespace, "chat", 2, RoutingState.SHUTDOWN, 0);
            states.view(namespace, "chat");
            listener.updateServiceGauges();
            assertThat(gauge(StatefulRouteMeters.SERVICE_PODS_DEAD, namespace)).isZero();
            assertThat(gauge(StatefulRouteMeters.SERVICE_PODS_ALIVE, namespace)).isEqualTo(3);

            // none heartbeats again: the two that never said SHUTDOWN are dead, the one that did left
            await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(gauge(StatefulRouteMeters.SERVICE_PODS_DEAD, namespace)).isEqualTo(2));
            assertThat(gauge(StatefulRouteMeters.SERVICE_PODS_ALIVE, namespace)).isZero();

            executor.setServiceState(namespace, "chat", 0, RoutingState.READY, 1);
            states.refresh();
            assertThat(gauge(StatefulRouteMeters.SERVICE_PODS_DEAD, namespace)).isEqualTo(1);
            assertThat(gauge(StatefulRouteMeters.SERVICE_PODS_ROUTABLE, namespace)).isEqualTo(1);
        }
        finally {
            redisClient.shutdown();
        }
    }

    private double gauge(String name, String namespace) {
        return this.registry.get(name).tags("namespace", namespace, "service", "chat").gauge().value();
    }

}
