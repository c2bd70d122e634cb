package io.statefulroute.benchmarks;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import io.lettuce.core.ScriptOutputType;
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
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.core.ValueOperations;

import static io.statefulroute.benchmarks.RouteFixture.LINK_TTL_SECONDS;
import static io.statefulroute.benchmarks.RouteFixture.NAMESPACE;
import static io.statefulroute.benchmarks.RouteFixture.PODS;
import static io.statefulroute.benchmarks.RouteFixture.SERVICE;

/**
 * Target: {@code computeLinkedPod} for a user with no link (blocking form), at 1 and 50
 * concurrent callers, reaches >= 90% of raw Lettuce {@code EVALSHA} of the smallest
 * get-or-set-with-TTL script ({@code rawMinimalScript}, the floor of "link this user if
 * absent" in one round trip), with the gateway's background work running (pods heartbeating,
 * state refresh, link change notices and probes). Also: the core's own script sent raw, a
 * naive Spring Data implementation and Redisson. Every call is a new user; each
 * implementation runs on its own connection(s) to the same dedicated server. The
 * {@code coreCacheFull} cases start with the link cache full of one-time users. {@code core}
 * follows notices on the channel; {@code coreAuto} is the gateway as the starter builds it by
 * default ({@code stateful-route.link.notices=auto}: tracking, as this server supports it);
 * {@code coreTracking} asks for tracking.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = { "-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch" })
public class NewUserBenchmark {

    /** What each implementation needs; only the benchmarked one is started in a run. */
    abstract static class Base {

        RouteFixture fixture;

        StatefulRedisConnection<String, String> rawConnection;

        RedisCommands<String, String> raw;

        String linkScriptSha;

        String minimalScriptSha;

        LettuceConnectionFactory springFactory;

        ValueOperations<String, String> springValues;

        StringRedisTemplate springTemplate;

        RedissonClient redisson;

        final LongAdder ops = new LongAdder();

        Map<String, Long> commandsBefore;

        void start(boolean fillCache) {
            start(fillCache, RouteFixture.Notices.CHANNEL);
        }

        void start(boolean fillCache, RouteFixture.Notices notices) {
            this.fixture = RouteFixture.withLivePods(notices);
            this.rawConnection = this.fixture.newConnection();
            this.raw = this.rawConnection.sync();
            this.linkScriptSha = this.raw.scriptLoad(RouteFixture.coreScript("link_if_absent"));
            this.minimalScriptSha = this.raw.scriptLoad(MINIMAL_LINK_IF_ABSENT);

            this.springFactory = new LettuceConnectionFactory(
                    new RedisStandaloneConfiguration(this.fixture.server.host(), this.fixture.server.port()));
            this.springFactory.afterPropertiesSet();
            this.springFactory.start();
            this.springTemplate = new StringRedisTemplate(this.springFactory);
            this.springValues = this.springTemplate.opsForValue();

            Config config = new Config();
            config.useSingleServer().setAddress(this.fixture.server.uri());
            config.setCodec(StringCodec.INSTANCE);
            this.redisson = Redisson.create(config);
            if (fillCache) {
                int capacity = (int) this.fixture.client.options().cacheMaximumSize();
                this.fixture.linkOneTimeUsers("once-", capacity);
                System.out.println("\n[cache] before measuring: " + this.fixture.client.cacheStats());
            }
            this.commandsBefore = this.fixture.commandCalls();
        }

        void stop(String label) {
            this.fixture.printCommandsPerOp(label, this.commandsBefore, this.ops.sum());
            System.out.println("[cache] after measuring: " + this.fixture.client.cacheStats());
            this.redisson.shutdown();
            this.springFactory.destroy();
            this.rawConnection.close();
            this.fixture.close();
        }
    }

    @State(Scope.Benchmark)
    public static class World extends Base {

        @Setup(Level.Trial)
        public void setUp() {
            start(false);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            stop("new user");
        }
    }

    /** The link cache full of users seen once, as after a burst of one-visit users. */
    @State(Scope.Benchmark)
    public static class FullCacheWorld extends Base {

        @Setup(Level.Trial)
        public void setUp() {
            start(true);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            stop("new user, cache full");
        }
    }

    /** Link change notices by client tracking ({@code stateful-route.link.notices=tracking}). */
    @State(Scope.Benchmark)
    public static class TrackingWorld extends Base {

        @Setup(Level.Trial)
        public void setUp() {
            start(false, RouteFixture.Notices.TRACKING);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            stop("new user, tracking");
        }
    }

    /**
     * The starter's default ({@code stateful-route.link.notices=auto}): tracking where the
     * server supports it, which this one does, so the same work as {@link TrackingWorld} plus
     * whatever the choice costs per call.
     */
    @State(Scope.Benchmark)
    public static class AutoWorld extends Base {

        @Setup(Level.Trial)
        public void setUp() {
            start(false, RouteFixture.Notices.AUTO);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            stop("new user, auto");
        }
    }

    /** Each benchmark thread makes up its own never-seen uids. */
    @State(Scope.Thread)
    public static class Users {

        private static final AtomicInteger THREADS = new AtomicInteger();

        private String prefix;

        private long next;

        @Setup(Level.Trial)
        public void setUp() {
            this.prefix = "t" + THREADS.getAndIncrement() + "-u";
        }

        String next(Base world) {
            world.ops.increment();
            return this.prefix + (this.next++);
        }
    }

    /**
     * The smallest one-round-trip link-if-absent a user could script: one string key per
     * link with a native TTL (Redis' clock), read or set atomically. The primary baseline.
     */
    static final String MINIMAL_LINK_IF_ABSENT = """
            local v = redis.call('GET', KEYS[1])
            if v then return v end
            redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
            return ARGV[1]
            """;

    private static final String TTL_MILLIS = Long.toString(LINK_TTL_SECONDS * 1000);

    private static final String TTL_SECONDS = Long.toString(LINK_TTL_SECONDS);

    private static final Duration TTL = Duration.ofSeconds(LINK_TTL_SECONDS);

    private static String randomPod() {
        return Integer.toString(ThreadLocalRandom.current().nextInt(PODS));
    }

    // ---- the target

    static int core(Base world, Users users) {
        return world.fixture.client.computeLinkedPod(NAMESPACE, users.next(world), SERVICE);
    }

    @Benchmark
    @Threads(1)
    public int t01_coreCacheFull(FullCacheWorld world, Users users) {
        return core(world, users);
    }

    @Benchmark
    @Threads(50)
    public int t50_coreCacheFull(FullCacheWorld world, Users users) {
        return core(world, users);
    }

    @Benchmark
    @Threads(1)
    public int t01_coreTracking(TrackingWorld world, Users users) {
        return core(world, users);
    }

    @Benchmark
    @Threads(50)
    public int t50_coreTracking(TrackingWorld world, Users users) {
        return core(world, users);
    }

    @Benchmark
    @Threads(1)
    public int t01_coreAuto(AutoWorld world, Users users) {
        return core(world, users);
    }

    @Benchmark
    @Threads(50)
    public int t50_coreAuto(AutoWorld world, Users users) {
        return core(world, users);
    }

    // ---- physical limit: one EVALSHA of the core's own script, raw Lettuce, same key shape

    /**
     * The core's link key and arguments (pod, ttl ms, not tracked). MULTI as the core decodes
     * it: a list holding the pod for a new user, {pod, remaining ms} for a linked one.
     */
    static List<Object> rawEvalsha(Base world, Users users) {
        String key = RouteFixture.linkKey(users.next(world), SERVICE);
        return world.raw.evalsha(world.linkScriptSha, ScriptOutputType.MULTI, new String[] { key }, randomPod(),
                TTL_MILLIS, "0");
    }

    static String rawMinimal(Base world, Users users) {
        String key = "min:" + NAMESPACE + ":" + users.next(world) + ":" + SERVICE;
        return world.raw.evalsha(world.minimalScriptSha, ScriptOutputType.VALUE, new String[] { key }, randomPod(),
                TTL_SECONDS);
    }

    // ---- what a user writes without us: GET, SET NX, EXPIRE, GET to confirm

    static String naiveSpringData(Base world, Users users) {
        String key = "naive:" + NAMESPACE + ":" + users.next(world) + ":" + SERVICE;
        String pod = world.springValues.get(key);
        if (pod != null) {
            return pod;
        }
        world.springValues.setIfAbsent(key, randomPod());
        world.springTemplate.expire(key, TTL);
        return world.springValues.get(key);
    }

    // ---- Redisson: a bucket per link (SET NX PX), and a map cache per user (one hash, a TTL per entry)

    static String redissonBucket(Base world, Users users) {
        var bucket = world.redisson.<String>getBucket("rb:" + NAMESPACE + ":" + users.next(world) + ":" + SERVICE);
        String pod = randomPod();
        return bucket.setIfAbsent(pod, TTL) ? pod : bucket.get();
    }

    static String redissonMapCache(Base world, Users users) {
        var links = world.redisson.<String, String>getMapCache("rm:" + NAMESPACE + ":" + users.next(world));
        String pod = randomPod();
        String existing = links.putIfAbsent(SERVICE, pod, LINK_TTL_SECONDS, TimeUnit.SECONDS);
        return (existing != null) ? existing : pod;
    }

    // ---- 1 caller

    @Benchmark
    @Threads(1)
    public int t01_core(World world, Users users) {
        return core(world, users);
    }

    @Benchmark
    @Threads(1)
    public List<Object> t01_rawEvalsha(World world, Users users) {
        return rawEvalsha(world, users);
    }

    @Benchmark
    @Threads(1)
    public String t01_rawMinimalScript(World world, Users users) {
        return rawMinimal(world, users);
    }

    @Benchmark
    @Threads(1)
    public String t01_naiveSpringData(World world, Users users) {
        return naiveSpringData(world, users);
    }

    @Benchmark
    @Threads(1)
    public String t01_redissonBucket(World world, Users users) {
        return redissonBucket(world, users);
    }

    @Benchmark
    @Threads(1)
    public String t01_redissonMapCache(World world, Users users) {
        return redissonMapCache(world, users);
    }

    // ---- 50 callers

    @Benchmark
    @Threads(50)
    public int t50_core(World world, Users users) {
        return core(world, users);
    }

    @Benchmark
    @Threads(50)
    public List<Object> t50_rawEvalsha(World world, Users users) {
        return rawEvalsha(world, users);
    }

    @Benchmark
    @Threads(50)
    public String t50_rawMinimalScript(World world, Users users) {
        return rawMinimal(world, users);
    }

    @Benchmark
    @Threads(50)
    public String t50_naiveSpringData(World world, Users users) {
        return naiveSpringData(world, users);
    }

    @Benchmark
    @Threads(50)
    public String t50_redissonBucket(World world, Users users) {
        return redissonBucket(world, users);
    }

    @Benchmark
    @Threads(50)
    public String t50_redissonMapCache(World world, Users users) {
        return redissonMapCache(world, users);
    }
}
