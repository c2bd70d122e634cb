package io.statefulroute.benchmarks;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.function.IntFunction;

import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.statefulroute.core.RouteArguments;

import static io.statefulroute.benchmarks.RouteFixture.LINK_TTL_SECONDS;
import static io.statefulroute.benchmarks.RouteFixture.NAMESPACE;
import static io.statefulroute.benchmarks.RouteFixture.SERVICE;

/**
 * Target: Redis memory per temporary link <= 120 bytes and per persistent link <= 200 bytes,
 * over 1,000,000 links: the {@code used_memory} delta of {@code INFO memory} divided by the
 * count, and the mean {@code MEMORY USAGE} of sampled keys. A link is one string key, as in
 * the naive and Redisson baselines; their shorter key, always with a TTL, is measured the same
 * way for comparison.
 *
 * <p>Run: {@code java -cp stateful-route-benchmarks/target/benchmarks.jar
 * io.statefulroute.benchmarks.LinkMemory [links]}
 */
public final class LinkMemory {

    private static final int IN_FLIGHT = 512;

    private static final int SAMPLES = 1000;

    /** The namespace's service registry (see RouteKeys). */

    private LinkMemory() {
    }

    public static void main(String[] args) throws Exception {
        int links = (args.length > 0) ? Integer.parseInt(args[0]) : 1_000_000;
        try (RouteFixture fixture = RouteFixture.empty(Duration.ofSeconds(5));
                StatefulRedisConnection<String, String> connection = fixture.newConnection()) {
            RedisCommands<String, String> redis = connection.sync();
            System.out.printf("Redis %s (%s) at %s, %,d links per case, uid = 10 digits, namespace '%s', "
                    + "service '%s', key prefix 'sr'%n", fixture.server.version(), fixture.server.kind(),
                    fixture.server.uri(), links, NAMESPACE, SERVICE);
            System.out.println("case | used_memory delta / link (B) | MEMORY USAGE mean (B) | links/s written");

            measure(fixture, redis, "temporary link (core, 300 s)", links, (i) -> fixture.executor
                .setLinkedPodIfAbsentAsync(NAMESPACE, uid(i), SERVICE, i % 4, LINK_TTL_SECONDS), LinkMemory::linkKey);
            measure(fixture, redis, "persistent link (core)", links, (i) -> fixture.executor
                .setLinkedPodAsync(NAMESPACE, uid(i), SERVICE, i % 4, RouteArguments.PERSIST_FOREVER),
                    LinkMemory::linkKey);
            measure(fixture, redis, "baseline: plain string SET EX 300 (naive / Redisson bucket)", links,
                    (i) -> connection.async().set(plainKey(i), Integer.toString(i % 4),
                            io.lettuce.core.SetArgs.Builder.ex(LINK_TTL_SECONDS)).toCompletableFuture(),
                    LinkMemory::plainKey);

            // A user's link of a second service: a key of its own (the same hash tag), so it costs
            // what a first link costs; the marginal cost is shown because the former layout (one
            // hash per user) made it cheaper than a first link.
            int users = links / 5;
            redis.flushall();
            write(users, (i) -> fixture.executor.setLinkedPodAsync(NAMESPACE, uid(i), SERVICE, i % 4,
                    RouteArguments.PERSIST_FOREVER));
            long before = usedMemory(redis);
            write(users, (i) -> fixture.executor.setLinkedPodAsync(NAMESPACE, uid(i), "game", i % 4,
                    RouteArguments.PERSIST_FOREVER));
            long after = usedMemory(redis);
            requireLinkKeys(redis, "second persistent link of the same user", 2L * users);
            System.out.printf(Locale.ROOT, "second persistent link of the same user (its own key) | %.1f | %.1f | -%n",
                    (double) (after - before) / users, meanUsage(redis, users, (i) -> linkKey(i, "game")));
        }
    }

    private static void measure(RouteFixture fixture, RedisCommands<String, String> redis, String label, int links,
            IntFunction<CompletableFuture<?>> writeOne, IntFunction<String> keyOf) throws InterruptedException {
        redis.flushall();
        // Load every script once, so the first measured delta holds no script cache.
        fixture.executor.setLinkedPodIfAbsent(NAMESPACE, "warm", SERVICE, 0, LINK_TTL_SECONDS);
        fixture.executor.setLinkedPod(NAMESPACE, "warm", SERVICE, 0, RouteArguments.PERSIST_FOREVER);
        redis.del(linkKey(-1));
        long before = usedMemory(redis);
        long started = System.nanoTime();
        write(links, writeOne);
        double seconds = (System.nanoTime() - started) / 1e9;
        long after = usedMemory(redis);
        requireLinkKeys(redis, label, links);
        System.out.printf(Locale.ROOT, "%s | %.1f | %.1f | %,.0f%n", label, (double) (after - before) / links,
                meanUsage(redis, links, keyOf), links / seconds);
    }

    /**
     * Every link is one key; the namespace's service registry, which link writes keep, is one
     * key per namespace and is not counted.
     */
    private static void requireLinkKeys(RedisCommands<String, String> redis, String label, long links) {
        long keys = redis.dbsize() - redis.exists(RouteFixture.SERVICES_KEY);
        if (keys != links) {
            throw new IllegalStateException(label + ": expected " + links + " link keys, found " + keys);
        }
    }

    /** Mean {@code MEMORY USAGE} of about {@value #SAMPLES} of the keys, spread over all of them. */
    private static double meanUsage(RedisCommands<String, String> redis, int links, IntFunction<String> keyOf) {
        long usage = 0;
        int step = Math.max(1, links / SAMPLES);
        int sampled = 0;
        for (int i = 0; i < links; i += step) {
            usage += redis.memoryUsage(keyOf.apply(i));
            sampled++;
        }
        return (double) usage / sampled;
    }

    /** Writes {@code links} links, {@value #IN_FLIGHT} in flight on the writer's connection (pipelined). */
    static void write(int links, IntFunction<CompletableFuture<?>> writeOne) throws InterruptedException {
        Semaphore window = new Semaphore(IN_FLIGHT);
        for (int i = 0; i < links; i++) {
            window.acquire();
            writeOne.apply(i).whenComplete((ok, ex) -> {
                if (ex != null) {
                    ex.printStackTrace();
                }
                window.release();
            });
        }
        window.acquire(IN_FLIGHT);
    }

    private static long usedMemory(RedisCommands<String, String> redis) {
        for (String line : redis.info("memory").split("\r?\n")) {
            if (line.startsWith("used_memory:")) {
                return Long.parseLong(line.substring("used_memory:".length()).trim());
            }
        }
        throw new IllegalStateException("INFO memory has no used_memory");
    }

    private static String uid(int i) {
        return Long.toString(1_000_000_000L + i);
    }

    /** The core's key of a user's link to {@link RouteFixture#SERVICE} (see RouteKeys); {@code -1} is the warm-up user. */
    private static String linkKey(int i) {
        return linkKey(i, SERVICE);
    }

    private static String linkKey(int i, String service) {
        return RouteFixture.linkKey((i < 0) ? "warm" : uid(i), service);
    }

    private static String plainKey(int i) {
        return "link:" + NAMESPACE + ":" + uid(i) + ":" + SERVICE;
    }
}
