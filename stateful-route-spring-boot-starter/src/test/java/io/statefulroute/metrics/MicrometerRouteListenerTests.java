package io.statefulroute.metrics;

import java.lang.management.ManagementFactory;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.statefulroute.core.link.RouteOutcome;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The routing timer on the cache hit path.
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

}
