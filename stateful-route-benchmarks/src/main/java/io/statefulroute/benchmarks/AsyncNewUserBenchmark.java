package io.statefulroute.benchmarks;

import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.lettuce.core.ScriptOutputType;
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

import static io.statefulroute.benchmarks.RouteFixture.LINK_TTL_SECONDS;
import static io.statefulroute.benchmarks.RouteFixture.NAMESPACE;
import static io.statefulroute.benchmarks.RouteFixture.PODS;
import static io.statefulroute.benchmarks.RouteFixture.SERVICE;

/**
 * Target: {@code computeLinkedPodAsync} for new users with 50 calls in flight on one
 * connection reaches >= 90% of raw async Lettuce {@code EVALSHA} of the smallest
 * get-or-set-with-TTL script with 50 in flight, the gateway's background work running (see
 * {@link RouteFixture#withLivePods()}). The core's own script sent raw is shown too. One
 * benchmark thread keeps a window of 50 outstanding calls; an operation is one call issued,
 * which in steady state is one call completed.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = { "-Xms2g", "-Xmx2g" })
public class AsyncNewUserBenchmark {

    static final int IN_FLIGHT = 50;

    private static final String TTL_MILLIS = Long.toString(LINK_TTL_SECONDS * 1000);

    private static final String TTL_SECONDS = Long.toString(LINK_TTL_SECONDS);

    private RouteFixture fixture;

    private StatefulRedisConnection<String, String> rawConnection;

    private RedisAsyncCommands<String, String> raw;

    private String linkScriptSha;

    private String minimalScriptSha;

    private final Semaphore window = new Semaphore(IN_FLIGHT);

    private final AtomicLong failures = new AtomicLong();

    private long next;

    private Map<String, Long> commandsBefore;

    @Setup(Level.Trial)
    public void setUp() {
        this.fixture = RouteFixture.withLivePods();
        this.rawConnection = this.fixture.newConnection();
        this.raw = this.rawConnection.async();
        this.linkScriptSha = this.rawConnection.sync().scriptLoad(RouteFixture.coreScript("link_if_absent"));
        this.minimalScriptSha = this.rawConnection.sync().scriptLoad(NewUserBenchmark.MINIMAL_LINK_IF_ABSENT);
        this.commandsBefore = this.fixture.commandCalls();
    }

    /** Lets every call of the iteration finish, so none leaks into the next measurement. */
    @TearDown(Level.Iteration)
    public void drain() throws InterruptedException {
        this.window.acquire(IN_FLIGHT);
        this.window.release(IN_FLIGHT);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        this.fixture.printCommandsPerOp("async new user", this.commandsBefore, this.next);
        if (this.failures.get() > 0) {
            System.out.println("[async] WARNING: " + this.failures.get() + " calls failed");
        }
        this.rawConnection.close();
        this.fixture.close();
    }

    private void done(Object result, Throwable failure) {
        if (failure != null) {
            this.failures.incrementAndGet();
        }
        this.window.release();
    }

    @Benchmark
    public void core() throws InterruptedException {
        this.window.acquire();
        this.fixture.client.computeLinkedPodAsync(NAMESPACE, "a-u" + (this.next++), SERVICE)
            .whenComplete(this::done);
    }

    @Benchmark
    public void rawEvalsha() throws InterruptedException {
        this.window.acquire();
        String key = RouteFixture.linkKey("a-u" + (this.next++), SERVICE);
        // the core's arguments: pod, ttl ms, not tracked; MULTI as the core decodes the reply
        this.raw.evalsha(this.linkScriptSha, ScriptOutputType.MULTI, new String[] { key },
                Integer.toString(ThreadLocalRandom.current().nextInt(PODS)), TTL_MILLIS, "0")
            .whenComplete(this::done);
    }

    @Benchmark
    public void rawMinimalScript() throws InterruptedException {
        this.window.acquire();
        String key = "min:" + NAMESPACE + ":a-u" + (this.next++) + ":" + SERVICE;
        this.raw.evalsha(this.minimalScriptSha, ScriptOutputType.VALUE, new String[] { key },
                Integer.toString(ThreadLocalRandom.current().nextInt(PODS)), TTL_SECONDS)
            .whenComplete(this::done);
    }
}
