package io.statefulroute.benchmarks;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * What a pod's take of a new user costs (issue 21): {@code setLinkedPod(uid, PERSIST_FOREVER)}
 * through a started server driver, a fenced write (a TIME read and a stamped value in the
 * script), with and without replica acknowledgement ({@code replicaAcks=1}: the write and a
 * {@code WAIT 1} on a connection of its own), against a primary with one replica on loopback.
 * The baselines of the same run are one raw {@code SET ... PX} on the same primary
 * ({@code rawSet}, {@code rawSet8}), what an application writes for an acknowledged write on its
 * own: the {@code SET} and a {@code WAIT 1} on the same connection ({@code rawSetThenWait}, the
 * shape of Redisson's {@code syncedEval}), and the unfenced executor write ({@code unfencedSet}).
 * At 1 caller and 8.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = { "-Xms1g", "-Xmx1g" })
public class PodTakeBenchmark {

    @State(Scope.Benchmark)
    public static class Pod {

        @Param({ "0", "1" })
        public int replicaAcks;

        RedisServer primary;

        RedisServer replica;

        RedisClient client;

        RedisStatefulExecutor executor;

        StatefulRouteForServerDriver driver;

        ScheduledExecutorService heartbeats;

        StatefulRedisConnection<String, String> rawConnection;

        RedisCommands<String, String> raw;

        final AtomicLong users = new AtomicLong();

        @Setup
        public void start() {
            this.primary = RedisServers.standalone().args("--repl-diskless-sync-delay", "0").start();
            this.replica = RedisServers.standalone().args("--repl-diskless-sync-delay", "0", "--replicaof",
                    this.primary.host(), Integer.toString(this.primary.port())).start();
            this.client = RedisClient.create(this.primary.uri());
            this.rawConnection = this.client.connect(StringCodec.UTF8);
            this.raw = this.rawConnection.sync();
            // a replica acknowledges writes once it has loaded what it synced
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            do {
                this.raw.set("synced", "1");
            }
            while (this.raw.waitForReplication(1, 100) < 1 && System.nanoTime() < deadline);
            RedisStatefulExecutor.Builder builder = RedisStatefulExecutor.builder()
                .connector(() -> this.client.connect(StringCodec.UTF8))
                .commandTimeout(Duration.ofSeconds(10));
            if (this.replicaAcks > 0) {
                builder.replicaAcks(this.replicaAcks, Duration.ofSeconds(5), () -> this.client.connect(StringCodec.UTF8));
            }
            this.executor = builder.build();
            this.driver = new StatefulRouteForServerDriver(this.executor,
                    new ServerOptions(new PodIdentity(RouteFixture.NAMESPACE, RouteFixture.SERVICE, 0), 0,
                            Duration.ZERO));
            this.driver.start();
            this.heartbeats = Executors.newSingleThreadScheduledExecutor();
            this.heartbeats.scheduleAtFixedRate(this.driver::heartbeatAsync, 1, 1, TimeUnit.SECONDS);
        }

        @TearDown
        public void stop() {
            this.heartbeats.shutdownNow();
            this.driver.stop();
            this.executor.close();
            this.rawConnection.close();
            this.client.shutdown();
            this.replica.close();
            this.primary.close();
        }

        String nextUser() {
            return "user-" + this.users.incrementAndGet();
        }
    }

    @Benchmark
    @Threads(1)
    public Object podTake(Pod pod) {
        return pod.driver.setLinkedPod(pod.nextUser(), RouteArguments.PERSIST_FOREVER);
    }

    @Benchmark
    @Threads(8)
    public Object podTake8(Pod pod) {
        return pod.driver.setLinkedPod(pod.nextUser(), RouteArguments.PERSIST_FOREVER);
    }

    @Benchmark
    @Threads(1)
    public Object unfencedSet(Pod pod) {
        return pod.executor.setLinkedPod(RouteFixture.NAMESPACE, pod.nextUser(), RouteFixture.SERVICE, 0,
                RouteArguments.PERSIST_FOREVER);
    }

    @Benchmark
    @Threads(1)
    public Object rawSet(Pod pod) {
        return pod.raw.set("raw:" + pod.nextUser(), "0", SetArgs.Builder.px(300_000));
    }

    @Benchmark
    @Threads(8)
    public Object rawSet8(Pod pod) {
        return pod.raw.set("raw:" + pod.nextUser(), "0", SetArgs.Builder.px(300_000));
    }

    @Benchmark
    @Threads(1)
    public Object rawSetThenWait(Pod pod) {
        pod.raw.set("raw:" + pod.nextUser(), "0", SetArgs.Builder.px(300_000));
        return pod.raw.waitForReplication(1, 5_000);
    }
}
