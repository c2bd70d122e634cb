package io.statefulroute.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;
import java.util.function.Supplier;

import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.state.RoutingState;

import static io.statefulroute.benchmarks.RouteFixture.NAMESPACE;
import static io.statefulroute.benchmarks.RouteFixture.SERVICE;

/**
 * Issue 14: the capacity model measured at size, not extrapolated. One local redis-server
 * (started like every benchmark's) gets {@code links} user links through the core's executor,
 * 512 in flight: the first half persistent ({@code setLinkedPod}, what pods hold), the second
 * half temporary ({@code setLinkedPodIfAbsent} with a 2 h TTL, so none expires during the run;
 * the bytes are those of a 300 s link). At 1M links and at the end: {@code used_memory} per
 * link, and the times of {@code batchGetLinkedPod} of 10,000 random users and of one state
 * refresh of 100 services x 100 pods (median and p99 of 20 rounds each).
 *
 * <p>Run: {@code java -Xmx2g -cp stateful-route-benchmarks/target/benchmarks.jar
 * io.statefulroute.benchmarks.LinkCapacity [links]}
 */
public final class LinkCapacity {

    private static final int BATCH = 10_000;

    private static final int ROUNDS = 20;

    private static final int SERVICES = 100;

    private static final int PODS_PER_SERVICE = 100;

    private static final long TEMPORARY_SECONDS = 7_200;

    private LinkCapacity() {
    }

    public static void main(String[] args) throws Exception {
        int links = (args.length > 0) ? Integer.parseInt(args[0]) : 10_000_000;
        int persistent = links / 2;
        try (RouteFixture fixture = RouteFixture.empty(Duration.ofHours(1));
                StatefulRedisConnection<String, String> connection = fixture.newConnection()) {
            RedisCommands<String, String> redis = connection.sync();
            System.out.printf("Redis %s (%s) at %s: %,d links (%,d persistent, then %,d temporary), 10-digit uids, "
                    + "namespace '%s', service '%s', key prefix 'sr'%n", fixture.server.version(),
                    fixture.server.kind(), fixture.server.uri(), links, persistent, links - persistent, NAMESPACE,
                    SERVICE);
            publishPods(fixture);
            fixture.executor.setLinkedPodIfAbsent(NAMESPACE, "warm", SERVICE, 0, TEMPORARY_SECONDS);
            fixture.executor.setLinkedPod(NAMESPACE, "warm", SERVICE, 0, RouteArguments.PERSIST_FOREVER);
            fixture.executor.removeLinkedPod(NAMESPACE, "warm", SERVICE, 0);
            long empty = usedMemory(redis);
            System.out.printf("used_memory with the pod states and the namespace's service registry only: %,d B%n",
                    empty);
            System.out.println("phase | links | seconds | links/s written | used_memory delta / link (B)");

            int firstCheckpoint = Math.min(1_000_000, persistent);
            write(fixture, redis, "persistent", 0, firstCheckpoint, (i) -> fixture.executor
                .setLinkedPodAsync(NAMESPACE, uid(i), SERVICE, i % 3, RouteArguments.PERSIST_FOREVER));
            checkpoint(fixture, redis, firstCheckpoint, empty);
            // up to 2M links every persistent one is written before the first checkpoint
            if (persistent > firstCheckpoint) {
                write(fixture, redis, "persistent", firstCheckpoint, persistent, (i) -> fixture.executor
                    .setLinkedPodAsync(NAMESPACE, uid(i), SERVICE, i % 3, RouteArguments.PERSIST_FOREVER));
            }
            write(fixture, redis, "temporary", persistent, links, (i) -> fixture.executor
                .setLinkedPodIfAbsentAsync(NAMESPACE, uid(i), SERVICE, i % 3, TEMPORARY_SECONDS));
            checkpoint(fixture, redis, links, empty);
            System.out.println(memoryInfo(redis));
            System.out.println(redis.info("keyspace").trim());
        }
    }

    private static void write(RouteFixture fixture, RedisCommands<String, String> redis, String kind, int from, int to,
            IntFunction<CompletableFuture<?>> writeOne) throws InterruptedException {
        long before = usedMemory(redis);
        long started = System.nanoTime();
        LinkMemory.write(to - from, (i) -> writeOne.apply(from + i));
        double seconds = (System.nanoTime() - started) / 1e9;
        long after = usedMemory(redis);
        System.out.printf(Locale.ROOT, "%s | %,d-%,d | %.1f | %,.0f | %.1f%n", kind, from, to, seconds,
                (to - from) / seconds, (double) (after - before) / (to - from));
    }

    /** Memory per link so far, then the batch look-up and the state refresh at this size. */
    private static void checkpoint(RouteFixture fixture, RedisCommands<String, String> redis, int linked, long empty) {
        long keys = redis.dbsize();
        System.out.printf(Locale.ROOT, "at %,d links: %,d keys, used_memory %,d B, %.1f B per link overall%n",
                linked, keys, usedMemory(redis), (double) (usedMemory(redis) - empty) / linked);
        Random random = new Random(linked);
        long[] batch = time(() -> {
            List<String> uids = new ArrayList<>(BATCH);
            for (int i = 0; i < BATCH; i++) {
                uids.add(uid(random.nextInt(linked)));
            }
            return uids;
        }, (uids) -> {
            Map<Integer, List<String>> byPod = fixture.client.batchGetLinkedPod(NAMESPACE, uids, SERVICE);
            int found = byPod.values().stream().mapToInt(List::size).sum();
            if (found != BATCH) {
                throw new IllegalStateException("batchGetLinkedPod found " + found + " of " + BATCH);
            }
        });
        long[] refresh = time(() -> null, (ignored) -> fixture.states.refreshAsync().join());
        System.out.printf(Locale.ROOT, "at %,d links: batchGetLinkedPod of %,d random users: median %.1f ms, p99 %.1f "
                + "ms (%d rounds); state refresh of %d services x %d pods: median %.1f ms, p99 %.1f ms%n", linked, BATCH,
                median(batch), p99(batch), ROUNDS, SERVICES, PODS_PER_SERVICE, median(refresh), p99(refresh));
    }

    private static <T> long[] time(Supplier<T> input, java.util.function.Consumer<T> operation) {
        // two warm-up rounds, not counted
        for (int i = 0; i < 2; i++) {
            operation.accept(input.get());
        }
        long[] nanos = new long[ROUNDS];
        for (int i = 0; i < ROUNDS; i++) {
            T in = input.get();
            long started = System.nanoTime();
            operation.accept(in);
            nanos[i] = System.nanoTime() - started;
        }
        Arrays.sort(nanos);
        return nanos;
    }

    private static double median(long[] sorted) {
        return sorted[sorted.length / 2] / 1e6;
    }

    private static double p99(long[] sorted) {
        return sorted[(int) Math.ceil(0.99 * sorted.length) - 1] / 1e6;
    }

    private static void publishPods(RouteFixture fixture) {
        List<CompletableFuture<?>> beats = new ArrayList<>();
        for (int s = 0; s < SERVICES; s++) {
            for (int p = 0; p < PODS_PER_SERVICE; p++) {
                beats.add(fixture.executor.setServiceStateAsync(NAMESPACE, "svc-" + s, p, RoutingState.READY, p * 0.01));
            }
        }
        CompletableFuture.allOf(beats.toArray(CompletableFuture[]::new)).join();
        for (int s = 0; s < SERVICES; s++) {
            fixture.states.view(NAMESPACE, "svc-" + s);
        }
    }

    private static long usedMemory(RedisCommands<String, String> redis) {
        return Long.parseLong(field(redis.info("memory"), "used_memory"));
    }

    private static String memoryInfo(RedisCommands<String, String> redis) {
        String memory = redis.info("memory");
        return String.format("used_memory %s, used_memory_rss %s, used_memory_dataset %s, used_memory_overhead %s, "
                + "mem_fragmentation_ratio %s, allocator_frag_ratio %s", field(memory, "used_memory"),
                field(memory, "used_memory_rss"), field(memory, "used_memory_dataset"),
                field(memory, "used_memory_overhead"), field(memory, "mem_fragmentation_ratio"),
                field(memory, "allocator_frag_ratio"));
    }

    private static String field(String info, String name) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith(name + ":")) {
                return line.substring(name.length() + 1).trim();
            }
        }
        throw new IllegalStateException("INFO has no " + name);
    }

    private static String uid(int i) {
        return Long.toString(1_000_000_000L + i);
    }
}
