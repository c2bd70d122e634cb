package io.statefulroute.core.balance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.PodsAtCapacityException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How far gateways racing on new users fill pods of capacity {@value #CAPACITY} past it, on
 * real Redis: pods heartbeat and gateways refresh every {@value #PERIOD_MS} ms, and every
 * routed user's first request reaches its pod at once, which takes it. Gateways run as fast as
 * they can: the pods fill within about one heartbeat, the worst case for a count published
 * with heartbeats. The link script cannot read a pod's count (another hash slot), so each
 * gateway knows the other gateways' new users only from the pods' next heartbeats: together
 * they may overshoot by the others' share of the room left at the last heartbeat they read,
 * at most {@code (gateways - 1) * capacity}, plus what each has in flight.
 */
class CapacityRaceTest {

    private static final int CAPACITY = 100;

    private static final int PODS = 3;

    private static final long PERIOD_MS = 100;

    private TestRedis redis;

    private String ns;

    private final List<StatefulRouteForServerDriver> pods = new ArrayList<>();

    private ScheduledExecutorService ticks;

    @BeforeEach
    void start() {
        this.redis = TestRedis.on(RedisServers.shared());
        this.ns = TestRedis.freshNamespace();
        StatefulExecutor executor = this.redis.executor();
        for (int index = 0; index < PODS; index++) {
            StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(executor,
                    new ServerOptions(new PodIdentity(this.ns, "game", index), 0, Duration.ZERO)
                        .withCapacity(PodCapacity.ofUsers(CAPACITY)));
            pod.start();
            this.pods.add(pod);
        }
        this.ticks = Executors.newSingleThreadScheduledExecutor();
        this.ticks.scheduleAtFixedRate(() -> this.pods.forEach(StatefulRouteForServerDriver::heartbeatAsync),
                PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    @AfterEach
    void stop() {
        this.ticks.shutdownNow();
        this.pods.forEach(StatefulRouteForServerDriver::stop);
        this.redis.close();
    }

    @Test
    void oneGatewayOvershootsByNoMoreThanWhatItHasInFlight() throws Exception {
        int threads = 8;
        int overshoot = race(1, threads);
        // a decision in flight when the last seat went, and a user linked just before a heartbeat
        // that reached its pod after it: at most one of each per thread
        assertThat(overshoot).isLessThanOrEqualTo(2 * threads);
    }

    @Test
    void fourRacingGatewaysOvershootByAtMostTheOthersShareOfTheRoom() throws Exception {
        int gateways = 4;
        int threads = 4;
        int overshoot = race(gateways, threads);
        assertThat(overshoot).isLessThanOrEqualTo((gateways - 1) * CAPACITY + gateways * 2 * threads);
    }

    /**
     * Runs the gateways until every pod holds at least its capacity; returns the most users any
     * pod holds beyond it, after checking that every routed user is linked to exactly one pod,
     * the one its gateway answered.
     */
    private int race(int gatewayCount, int threadsPerGateway) throws Exception {
        List<StatefulRouteForClientDriver> gateways = new ArrayList<>();
        List<ServiceStateCache> caches = new ArrayList<>();
        for (int i = 0; i < gatewayCount; i++) {
            StatefulExecutor executor = this.redis.executor(Duration.ofSeconds(10));
            ServiceStateCache states = new ServiceStateCache(executor, Duration.ofSeconds(5));
            states.keepInView(this.ns, "game");
            caches.add(states);
            gateways.add(new StatefulRouteForClientDriver(executor,
                    new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector()),
                    ClientOptions.defaults(this.ns)));
        }
        caches.forEach(ServiceStateCache::refresh);
        this.ticks.scheduleAtFixedRate(() -> caches.forEach(ServiceStateCache::refreshAsync), PERIOD_MS, PERIOD_MS,
                TimeUnit.MILLISECONDS);

        AtomicInteger next = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicBoolean full = new AtomicBoolean();
        ExecutorService threads = Executors.newFixedThreadPool(gatewayCount * threadsPerGateway);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Map<String, Integer>>> routed = new ArrayList<>();
        for (StatefulRouteForClientDriver gateway : gateways) {
            for (int t = 0; t < threadsPerGateway; t++) {
                routed.add(threads.submit(() -> {
                    Map<String, Integer> answers = new HashMap<>();
                    go.await();
                    while (!full.get()) {
                        String uid = "user-" + next.getAndIncrement();
                        try {
                            int pod = gateway.computeLinkedPod(this.ns, uid, "game");
                            answers.put(uid, pod);
                            this.pods.get(pod).setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
                        }
                        catch (PodsAtCapacityException ex) {
                            refused.incrementAndGet();
                        }
                        full.compareAndSet(false,
                                this.pods.stream().allMatch((pod) -> pod.heldUsers().size() >= CAPACITY));
                    }
                    return answers;
                }));
            }
        }
        long started = System.nanoTime();
        go.countDown();
        Map<String, Integer> answers = new HashMap<>();
        for (Future<Map<String, Integer>> thread : routed) {
            answers.putAll(thread.get(2, TimeUnit.MINUTES));
        }
        long fillMillis = (System.nanoTime() - started) / 1_000_000;
        threads.shutdown();

        int[] held = this.pods.stream().mapToInt((pod) -> pod.heldUsers().size()).toArray();
        Map<Integer, List<String>> linked = this.redis.executor()
            .batchGetLinkedPod(this.ns, List.copyOf(answers.keySet()), "game");
        assertThat(linked.values().stream().mapToInt(List::size).sum()).as("every routed user linked once")
            .isEqualTo(answers.size());
        linked.forEach((pod, uids) -> {
            assertThat(uids).allSatisfy((uid) -> assertThat(answers.get(uid)).isEqualTo(pod));
            assertThat(uids).hasSize(held[pod]);
        });
        int overshoot = 0;
        for (int count : held) {
            overshoot = Math.max(overshoot, count - CAPACITY);
        }
        System.out.printf("Capacity race: %d gateway(s) x %d threads filled %d pods of capacity %d in %d ms "
                + "(heartbeat and refresh every %d ms): they hold %s, most over capacity %d; %d new users refused "
                + "as at capacity%n", gatewayCount, threadsPerGateway, PODS, CAPACITY, fillMillis, PERIOD_MS,
                Arrays.toString(held), overshoot, refused.get());
        return overshoot;
    }
}
