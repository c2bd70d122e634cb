package io.statefulroute.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

import io.statefulroute.core.state.RoutingState;

import static io.statefulroute.benchmarks.RouteFixture.NAMESPACE;

/**
 * Target: one refresh cycle of 100 services x 100 pods ({@code ServiceStateCache.refreshAsync})
 * costs one round trip per service, pipelined, and < 50 ms. Baseline: the same 100 hashes
 * read with pipelined raw {@code HGETALL}s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = { "-Xms2g", "-Xmx2g" })
public class StateRefreshBenchmark {

    static final int SERVICES = 100;

    static final int PODS_PER_SERVICE = 100;

    private RouteFixture fixture;

    private StatefulRedisConnection<String, String> rawConnection;

    private RedisAsyncCommands<String, String> raw;

    private String[] podKeys;

    private Map<String, Long> commandsBefore;

    private long cycles;

    @Setup(Level.Trial)
    public void setUp() {
        // Long expiry: the measurement is the read, not whether pods are still alive.
        this.fixture = RouteFixture.empty(Duration.ofHours(1));
        this.rawConnection = this.fixture.newConnection();
        this.raw = this.rawConnection.async();
        List<CompletableFuture<?>> beats = new ArrayList<>();
        for (int s = 0; s < SERVICES; s++) {
            for (int p = 0; p < PODS_PER_SERVICE; p++) {
                beats.add(this.fixture.executor.setServiceStateAsync(NAMESPACE, service(s), p, RoutingState.READY,
                        p * 0.01));
            }
        }
        CompletableFuture.allOf(beats.toArray(CompletableFuture[]::new)).join();
        this.podKeys = new String[SERVICES];
        for (int s = 0; s < SERVICES; s++) {
            int pods = this.fixture.states.view(NAMESPACE, service(s)).pods().size();
            if (pods != PODS_PER_SERVICE) {
                throw new IllegalStateException(service(s) + " has " + pods + " pods");
            }
            this.podKeys[s] = "sr:{s:" + NAMESPACE + ":" + service(s) + "}:pods";
        }
        this.commandsBefore = this.fixture.commandCalls();
    }

    private static String service(int s) {
        return "svc-" + s;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        this.fixture.printCommandsPerOp("refresh of " + SERVICES + " services", this.commandsBefore, this.cycles);
        this.rawConnection.close();
        this.fixture.close();
    }

    /** The target: one refresh cycle of every known service. */
    @Benchmark
    public void coreRefreshAsync() {
        this.cycles++;
        this.fixture.states.refreshAsync().join();
    }

    /** Physical limit: the 100 pod-state hashes read with pipelined HGETALLs, nothing decoded. */
    @Benchmark
    public int rawPipelinedHgetall() {
        this.cycles++;
        @SuppressWarnings("unchecked")
        RedisFuture<Map<String, String>>[] replies = new RedisFuture[SERVICES];
        for (int s = 0; s < SERVICES; s++) {
            replies[s] = this.raw.hgetall(this.podKeys[s]);
        }
        LettuceFutures.awaitAll(Duration.ofSeconds(10), replies);
        return replies.length;
    }
}
