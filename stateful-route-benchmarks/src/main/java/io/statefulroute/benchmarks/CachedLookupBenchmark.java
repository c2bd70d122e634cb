package io.statefulroute.benchmarks;

import java.util.concurrent.TimeUnit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

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

import static io.statefulroute.benchmarks.RouteFixture.NAMESPACE;
import static io.statefulroute.benchmarks.RouteFixture.SERVICE;

/**
 * Target: a cached {@code computeLinkedPod} answers with a median <= 100 ns and 0 bytes
 * allocated (run with {@code -prof gc}), with the gateway's background work running.
 * Baselines: one Lettuce GET round trip, and floors of any cached answer: a Caffeine look-up
 * with a composite key (what the cache cost before it was keyed by uid), and one keyed by uid.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = { "-Xms2g", "-Xmx2g" })
public class CachedLookupBenchmark {

    /** Users cycled through; all linked and cached before measuring. */
    static final int USERS = 1024;

    private RouteFixture fixture;

    private String[] uids;

    private StatefulRedisConnection<String, String> rawConnection;

    private RedisCommands<String, String> raw;

    private Cache<Key, Integer> floorCache;

    private Cache<String, Integer> uidFloorCache;

    private int next;

    record Key(String namespace, String uid, String service) {
    }

    @Setup(Level.Trial)
    public void setUp() {
        this.fixture = RouteFixture.withLivePods();
        this.uids = new String[USERS];
        this.floorCache = Caffeine.newBuilder().maximumSize(100_000).build();
        this.uidFloorCache = Caffeine.newBuilder().maximumSize(100_000).build();
        this.rawConnection = this.fixture.newConnection();
        this.raw = this.rawConnection.sync();
        for (int i = 0; i < USERS; i++) {
            this.uids[i] = "user-" + i;
            int pod = this.fixture.client.computeLinkedPod(NAMESPACE, this.uids[i], SERVICE);
            this.floorCache.put(new Key(NAMESPACE, this.uids[i], SERVICE), pod);
            this.uidFloorCache.put(this.uids[i], pod);
            this.raw.set("plain:" + this.uids[i], Integer.toString(pod));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        long misses = this.fixture.client.cacheStats().misses();
        System.out.println("\n[cache] " + this.fixture.client.cacheStats() + " (misses beyond the "
                + USERS + " warm-up calls mean a cached call went to Redis)");
        if (misses > USERS) {
            System.out.println("[cache] WARNING: " + (misses - USERS) + " cache misses while measuring");
        }
        this.rawConnection.close();
        this.fixture.close();
    }

    private String nextUid() {
        int i = this.next;
        this.next = (i + 1) & (USERS - 1);
        return this.uids[i];
    }

    /** The target: every call answered from the local cache. */
    @Benchmark
    @BenchmarkMode({ Mode.AverageTime, Mode.SampleTime })
    public int computeLinkedPodCached() {
        return this.fixture.client.computeLinkedPod(NAMESPACE, nextUid(), SERVICE);
    }

    /** Floor: a Caffeine look-up with a composite key, nothing else. */
    @Benchmark
    public Integer caffeineLookupFloor() {
        return this.floorCache.getIfPresent(new Key(NAMESPACE, nextUid(), SERVICE));
    }

    /** Floor: a Caffeine look-up keyed by uid, nothing else. */
    @Benchmark
    public Integer caffeineUidLookupFloor() {
        return this.uidFloorCache.getIfPresent(nextUid());
    }

    /** One Redis round trip: a blocking Lettuce GET. */
    @Benchmark
    public String redisRoundTripGet() {
        return this.raw.get("plain:" + nextUid());
    }
}
