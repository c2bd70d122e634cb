package io.statefulroute.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

import io.statefulroute.core.RouteArguments;

import static io.statefulroute.benchmarks.RouteFixture.NAMESPACE;
import static io.statefulroute.benchmarks.RouteFixture.PODS;
import static io.statefulroute.benchmarks.RouteFixture.SERVICE;

/**
 * Target: {@code batchGetLinkedPod} of 10,000 users is >= 20x faster than a loop of single
 * look-ups and reaches >= 50% of pipelined GET throughput. One operation is one batch of
 * 10,000 users (all linked, persistent).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = { "-Xms2g", "-Xmx2g" })
public class BatchLookupBenchmark {

    static final int USERS = 10_000;

    private RouteFixture fixture;

    private List<String> uids;

    private String[] plainKeys;

    private StatefulRedisConnection<String, String> rawConnection;

    private RedisAsyncCommands<String, String> raw;

    private StatefulRedisConnection<String, String> manualFlushConnection;

    private RedisAsyncCommands<String, String> manualFlush;

    private Map<String, Long> commandsBefore;

    private long batches;

    @Setup(Level.Trial)
    public void setUp() {
        this.fixture = RouteFixture.empty(Duration.ofSeconds(5));
        this.rawConnection = this.fixture.newConnection();
        this.raw = this.rawConnection.async();
        this.manualFlushConnection = this.fixture.newConnection();
        this.manualFlushConnection.setAutoFlushCommands(false);
        this.manualFlush = this.manualFlushConnection.async();
        this.uids = new ArrayList<>(USERS);
        this.plainKeys = new String[USERS];
        List<CompletableFuture<?>> writes = new ArrayList<>();
        for (int i = 0; i < USERS; i++) {
            String uid = "user-" + i;
            this.uids.add(uid);
            this.plainKeys[i] = "plain:" + uid;
            writes.add(this.fixture.executor.setLinkedPodAsync(NAMESPACE, uid, SERVICE, i % PODS,
                    RouteArguments.PERSIST_FOREVER));
            writes.add(this.raw.set(this.plainKeys[i], Integer.toString(i % PODS)).toCompletableFuture());
        }
        CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
        Map<Integer, List<String>> check = this.fixture.client.batchGetLinkedPod(NAMESPACE, this.uids, SERVICE);
        int found = check.values().stream().mapToInt(List::size).sum();
        if (found != USERS) {
            throw new IllegalStateException("Expected " + USERS + " linked users, batch found " + found);
        }
        this.commandsBefore = this.fixture.commandCalls();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        this.fixture.printCommandsPerOp("batch of " + USERS, this.commandsBefore, this.batches);
        this.manualFlushConnection.close();
        this.rawConnection.close();
        this.fixture.close();
    }

    /** The target: one call, pipelined inside the core. */
    @Benchmark
    public Map<Integer, List<String>> coreBatchGetLinkedPod() {
        this.batches++;
        return this.fixture.client.batchGetLinkedPod(NAMESPACE, this.uids, SERVICE);
    }

    /** What a user without a batch API writes: one blocking look-up per user (never cached). */
    @Benchmark
    public int loopOfSingleLookups() {
        this.batches++;
        int found = 0;
        for (String uid : this.uids) {
            OptionalInt pod = this.fixture.client.getLinkedPodNotCache(NAMESPACE, uid, SERVICE);
            found += pod.isPresent() ? 1 : 0;
        }
        return found;
    }

    /** Physical limit as most Lettuce users write it: 10,000 async GETs (flushed one by one), then await all. */
    @Benchmark
    public int pipelinedGetAutoFlush() {
        this.batches++;
        @SuppressWarnings("unchecked")
        RedisFuture<String>[] replies = new RedisFuture[USERS];
        for (int i = 0; i < USERS; i++) {
            replies[i] = this.raw.get(this.plainKeys[i]);
        }
        LettuceFutures.awaitAll(Duration.ofSeconds(10), replies);
        return replies.length;
    }

    /** Physical limit: 10,000 GETs written and flushed as one pipeline on a dedicated connection. */
    @Benchmark
    public int pipelinedGetOneFlush() {
        this.batches++;
        @SuppressWarnings("unchecked")
        RedisFuture<String>[] replies = new RedisFuture[USERS];
        for (int i = 0; i < USERS; i++) {
            replies[i] = this.manualFlush.get(this.plainKeys[i]);
        }
        this.manualFlushConnection.flushCommands();
        LettuceFutures.awaitAll(Duration.ofSeconds(10), replies);
        return replies.length;
    }
}
