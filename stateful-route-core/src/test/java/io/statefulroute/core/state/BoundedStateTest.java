package io.statefulroute.core.state;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.ForeignNamespaceException;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisCallListener;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.testsupport.Flood;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Names that arrive in requests cannot grow state or Redis work without bound: 100,000
 * unknown services and 100,000 unknown namespaces go through {@code computeLinkedPod} while a
 * known service keeps routing.
 */
class BoundedStateTest {

    private static final String NS = "prod";

    private static final int NAMES = 100_000;

    private static final int MAX_SERVICES = 20;

    private static final int IN_FLIGHT = 256;

    /** Heap the test may leave behind: the untracked cache's 10,000 entries take a few MB of it. */
    private static final long HEAP_BOUND_BYTES = 32L * 1024 * 1024;

    private RedisServer server;

    private TestRedis redis;

    private RedisStatefulExecutor executor;

    private ServiceStateCache states;

    private StatefulRouteForClientDriver client;

    private final ConcurrentHashMap<String, LongAdder> operations = new ConcurrentHashMap<>();

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
        RedisCallListener counting = new RedisCallListener() {
            @Override
            public void finished(Object token, String operation, long nanos, Throwable error) {
                BoundedStateTest.this.operations.computeIfAbsent(operation, (op) -> new LongAdder()).increment();
            }
        };
        this.executor = RedisStatefulExecutor.builder()
            .connection(this.redis.connect())
            .keyPrefix("test")
            // the test is about bounds, not latency: a loaded build machine must not time calls out
            .commandTimeout(Duration.ofSeconds(30))
            .callListener(counting)
            .build();
        // untracked reads answer for a minute: "one read per name and period" is then exact to check
        this.states = new ServiceStateCache(this.executor, Duration.ofMinutes(5), ServiceStateCache.DEFAULT_RELINK_GRACE,
                MAX_SERVICES, Duration.ofMinutes(1));
        this.client = new StatefulRouteForClientDriver(this.executor,
                new RouteInfoDriver(this.states, PodSelectionStrategy.ROUND_ROBIN.newSelector()),
                ClientOptions.defaults(NS));
    }

    @AfterEach
    void stop() {
        this.executor.close();
        this.redis.close();
        this.server.close();
    }

    private long count(String operation) {
        LongAdder adder = this.operations.get(operation);
        return (adder != null) ? adder.sum() : 0;
    }

    @Test
    void unknownServicesAndNamespacesLeaveNothingBehindWhileKnownServicesRoute() throws Exception {
        this.executor.setServiceState(NS, "chat", 0, RoutingState.READY, 0);
        this.executor.setServiceState(NS, "chat", 1, RoutingState.READY, 0);
        assertThat(this.client.computeLinkedPod(NS, "warm-up", "chat")).isBetween(0, 1);
        long heapBefore = usedHeapAfterGc();
        long started = System.nanoTime();
        AtomicInteger knownRouted = new AtomicInteger();

        // 1,000 unknown names asked 100 times each, within the untracked TTL: one read per name
        flood((i) -> this.client.computeLinkedPodAsync(NS, "user", "absent-" + (i % 1000)),
                NoRoutablePodException.class, knownRouted);
        assertThat(count("getServiceState")).isEqualTo(1 + 1000);

        long reads = count("getServiceState");
        int unknownServices = flood((i) -> this.client.computeLinkedPodAsync(NS, "user", "no-such-service-" + i),
                NoRoutablePodException.class, knownRouted);
        int unknownNamespaces = flood((i) -> this.client.computeLinkedPodAsync("no-such-ns-" + i, "user", "chat"),
                ForeignNamespaceException.class, knownRouted);
        long floodMillis = (System.nanoTime() - started) / 1_000_000;

        assertThat(unknownServices).isEqualTo(NAMES);
        assertThat(unknownNamespaces).isEqualTo(NAMES);
        assertThat(knownRouted.get()).as("known users routed during the floods").isEqualTo(3 * NAMES / 100);
        // one pod-state read per unknown service name, and not one link read more
        assertThat(count("getServiceState") - reads).isEqualTo(NAMES);
        assertThat(count("getLinkedPod")).as("one link read per foreign namespace, none for unknown services")
            .isEqualTo(NAMES);

        assertThat(this.states.views()).extracting(ServiceView::service).containsExactly("chat");
        assertThat(this.states.stats().services()).isEqualTo(1);
        assertThat(this.states.untrackedCount()).isLessThanOrEqualTo(ServiceStateCache.MAX_UNTRACKED);

        // a refresh reads the tracked services only
        reads = count("getServiceState");
        this.states.refresh();
        assertThat(count("getServiceState") - reads).isEqualTo(1);

        long heapGrowth = usedHeapAfterGc() - heapBefore;
        System.out.printf("BoundedStateTest: 3 x %,d calls with unknown names in %,d ms, heap growth %,d KB, untracked %,d%n",
                NAMES, floodMillis, heapGrowth / 1024, this.states.untrackedCount());
        assertThat(heapGrowth).isLessThan(HEAP_BOUND_BYTES);
    }

    @Test
    void trackedServicesAreCappedAndIdleOnesEvicted() {
        for (int i = 0; i < MAX_SERVICES + 10; i++) {
            this.executor.setServiceState(NS, "svc-" + i, 0, RoutingState.READY, 0);
        }
        this.states.keepInView(NS, "configured");
        for (int i = 0; i < MAX_SERVICES + 10; i++) {
            assertThat(this.client.computeLinkedPod(NS, "user", "svc-" + i)).isZero();
        }
        // full, and every tracked service was used since the last refresh: none is evicted
        assertThat(this.states.views()).hasSize(MAX_SERVICES - 1);
        assertThat(this.states.isTracked(NS, "svc-" + (MAX_SERVICES + 9))).isFalse();

        this.states.refresh();
        this.client.computeLinkedPod(NS, "user", "svc-0");
        this.executor.setServiceState(NS, "newcomer", 0, RoutingState.READY, 0);
        assertThat(this.client.computeLinkedPod(NS, "user", "newcomer")).isZero();
        assertThat(this.states.isTracked(NS, "newcomer")).isTrue();
        assertThat(this.states.isTracked(NS, "svc-0")).as("used since the refresh").isTrue();
        assertThat(this.states.isTracked(NS, "configured")).as("kept in view, never evicted").isTrue();
        assertThat(this.states.stats().services()).isEqualTo(MAX_SERVICES);

        // a tracked service whose pods all left Redis stops being tracked; a configured one stays
        this.redis.sync().del("test:{s:prod:svc-0}:pods");
        this.states.refresh();
        assertThat(this.states.isTracked(NS, "svc-0")).isFalse();
        assertThat(this.states.isTracked(NS, "configured")).isTrue();
        assertThat(this.states.cachedView(NS, "configured").pods()).isEmpty();
    }

    /**
     * Runs {@code NAMES} calls, at most {@value #IN_FLIGHT} in flight, each expected to fail with
     * {@code expected}; one in 100 is followed by a routing call of one of 50 known users.
     * @return how many failed as expected
     */
    private int flood(IntFunction<CompletableFuture<Integer>> call, Class<? extends Exception> expected,
            AtomicInteger knownRouted) throws InterruptedException {
        AtomicInteger knownCalls = new AtomicInteger();
        Flood.Result result = new Flood(IN_FLIGHT, 100, () -> this.client
            .computeLinkedPodAsync(NS, "known-" + (knownCalls.getAndIncrement() % 50), "chat")
            .thenApply((pod) -> pod == 0 || pod == 1)).run(NAMES, call, expected::isInstance);
        assertThat(result.unexpected()).isEmpty();
        knownRouted.addAndGet(result.sideCallsRight());
        return result.failedAsExpected();
    }

    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
