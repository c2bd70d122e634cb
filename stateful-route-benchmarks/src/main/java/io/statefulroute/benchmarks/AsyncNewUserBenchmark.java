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
 * which in steady state is one call completed. {@code core} follows notices on the channel;
 * {@code coreAuto} is the gateway as the starter builds it by default
 * ({@code stateful-route.link.notices=auto}: tracking, as this server supports it), on a server
 * of its own.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = { "-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch" })
public class AsyncNewUserBenchmark {

    static final int IN_FLIGHT = 50;

    private static final String TTL_MILLIS = Long.toString(LINK_TTL_SECONDS * 1000);

    private static final String TTL_SECONDS = Long.toString(LINK_TTL_SECONDS);

    /** A server, the gateway on it, raw connections for the baselines, and the window of calls in flight. */
    abstract static class Base {

        RouteFixture fixture;

        StatefulRedisConnection<String, String> rawConnection;

        RedisAsyncCommands<String, String> raw;

        String linkScriptSha;

        String minimalScriptSha;

        final Semaphore window = new Semaphore(IN_FLIGHT);

        final AtomicLong failures = new AtomicLong();

        /** Calls issued, which also numbers the next new user; one benchmark thread writes it. */
        long next;

        private Map<String, Long> commandsBefore;

        void start(RouteFixture.Notices notices) {
            this.fixture = RouteFixture.withLivePods(notices);
            this.rawConnection = this.fixture.newConnection();
            this.raw = this.rawConnection.async();
            this.linkScriptSha = this.rawConnection.sync().scriptLoad(RouteFixture.coreScript("link_if_absent"));
            this.minimalScriptSha = this.rawConnection.sync().scriptLoad(NewUserBenchmark.MINIMAL_LINK_IF_ABSENT);
            this.commandsBefore = this.fixture.commandCalls();
        }

        /** Lets every call of the iteration finish, so none leaks into the next measurement. */
        void drain() throws InterruptedException {
            this.window.acquire(IN_FLIGHT);
            this.window.release(IN_FLIGHT);
        }

        void stop(String label) {
            this.fixture.printCommandsPerOp(label, this.commandsBefore, this.next);
            if (this.failures.get() > 0) {
                System.out.println("[async] WARNING: " + this.failures.get() + " calls failed");
            }
            this.rawConnection.close();
            this.fixture.close();
        }

        void done(Object result, Throwable failure) {
            if (failure != null) {
                this.failures.incrementAndGet();
            }
            this.window.release();
        }

        void newUser() throws InterruptedException {
            this.window.acquire();
            this.fixture.client.computeLinkedPodAsync(NAMESPACE, "a-u" + (this.next++), SERVICE)
                .whenComplete(this::done);
        }
    }

    /** Notices on the channel; the baselines run here. */
    @State(Scope.Benchmark)
    public static class World extends Base {

        @Setup(Level.Trial)
        public void setUp() {
            start(RouteFixture.Notices.CHANNEL);
        }

        @TearDown(Level.Iteration)
        public void endIteration() throws InterruptedException {
            drain();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            stop("async new user");
        }
    }

    /** The starter's default, notices by tracking where the server supports it. */
    @State(Scope.Benchmark)
    public static class AutoWorld extends Base {

        @Setup(Level.Trial)
        public void setUp() {
            start(RouteFixture.Notices.AUTO);
        }

        @TearDown(Level.Iteration)
        public void endIteration() throws InterruptedException {
            drain();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            stop("async new user, auto");
        }
    }

    @Benchmark
    public void core(World world) throws InterruptedException {
        world.newUser();
    }

    @Benchmark
    public void coreAuto(AutoWorld world) throws InterruptedException {
        world.newUser();
    }

    @Benchmark
    public void rawEvalsha(World world) throws InterruptedException {
        world.window.acquire();
        String key = RouteFixture.linkKey("a-u" + (world.next++), SERVICE);
        // the core's arguments: pod, ttl ms, not tracked; MULTI as the core decodes the reply
        world.raw.evalsha(world.linkScriptSha, ScriptOutputType.MULTI, new String[] { key },
                Integer.toString(ThreadLocalRandom.current().nextInt(PODS)), TTL_MILLIS, "0")
            .whenComplete(world::done);
    }

    @Benchmark
    public void rawMinimalScript(World world) throws InterruptedException {
        world.window.acquire();
        String key = "min:" + NAMESPACE + ":a-u" + (world.next++) + ":" + SERVICE;
        world.raw.evalsha(world.minimalScriptSha, ScriptOutputType.VALUE, new String[] { key },
                Integer.toString(ThreadLocalRandom.current().nextInt(PODS)), TTL_SECONDS)
            .whenComplete(world::done);
    }
}
