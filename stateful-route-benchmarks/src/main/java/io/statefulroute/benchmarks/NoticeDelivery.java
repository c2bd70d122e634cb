package io.statefulroute.benchmarks;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.push.PushMessage;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.NestedMultiOutput;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.protocol.RedisCommand;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.LinkChangeListener;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static io.statefulroute.benchmarks.RouteFixture.NAMESPACE;
import static io.statefulroute.benchmarks.RouteFixture.SERVICE;

/**
 * Issue 14: what one link change costs Redis and the gateways, per way of delivering the
 * notice. 8 gateways in one JVM, each with its own Lettuce connections; every user is read
 * (cached) by exactly one gateway; then a writer moves some users to another pod, paced, one
 * change per user. Modes:
 * <ul>
 * <li>{@code a}: today's single channel, through the core's own executor and scripts
 * ({@code PUBLISH <prefix>:link-changes} inside the script; every gateway subscribes);</li>
 * <li>{@code b}: sharded pub/sub, the core's script with {@code SPUBLISH} to a channel of the
 * user key's slot (a hash tag that hashes to that slot); each gateway {@code SSUBSCRIBE}s to
 * every slot's channel on the node that owns the slot (Redis 7.0+);</li>
 * <li>{@code d}: the core's own client tracking ({@code stateful-route.link.notices=tracking},
 * {@code publish-changes=false}), gateways and writer through the core's executor;</li>
 * <li>{@code c}: server-assisted client-side caching, the core's script with no notice: each
 * gateway has a RESP3 connection per master with {@code CLIENT TRACKING on OPTIN} and reads
 * its users with {@code CLIENT CACHING yes} and {@code EVALSHA get_link} written together;
 * Redis pushes {@code invalidate} for the key to the gateway that read it.</li>
 * </ul>
 * Counted: the gateways' receipts (all, those that evicted a cached user, those that evicted
 * nothing) and, per Redis node, the {@code total_net_output_bytes} and cluster bus
 * {@code publish}/{@code publishshard} message deltas over the change phase; latency from the
 * write being sent to the receipt at the gateway that cached the user. On the cluster every
 * changed user lives on the first master, so the other nodes show what they carry for slots
 * they do not own.
 *
 * <p>Run: {@code java -cp stateful-route-benchmarks/target/benchmarks.jar
 * io.statefulroute.benchmarks.NoticeDelivery [users=40000] [changes=4000] [rate=400]
 * [topologies=standalone,cluster,standalone62] [modes=a,b,c,d] [trackingMaxKeys=10000]}
 */
public final class NoticeDelivery {

    static final int GATEWAYS = 8;

    private static final String PREFIX = "sr";

    private static final String CHANNEL = PREFIX + ":link-changes";

    private static final String PUBLISH_CALL = "redis.call('PUBLISH', channel, message)";

    private NoticeDelivery() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>(Map.of("users", "40000", "changes", "4000", "rate", "400",
                "topologies", "standalone,cluster,standalone62", "modes", "a,b,c,d", "trackingMaxKeys", "10000"));
        for (String arg : args) {
            int eq = arg.indexOf('=');
            options.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        int users = Integer.parseInt(options.get("users"));
        int changes = Integer.parseInt(options.get("changes"));
        int rate = Integer.parseInt(options.get("rate"));
        List<String> modes = List.of(options.get("modes").split(","));
        System.out.printf("NoticeDelivery: %d gateways, %,d users (each read by one gateway), %,d changes at %d/s, "
                + "options %s%n", GATEWAYS, users, changes, rate, options);
        for (String topology : options.get("topologies").split(",")) {
            try (Topology redis = Topology.start(topology)) {
                System.out.printf("%n=== %s: Redis %s, %d master(s), %d node(s) ===%n", topology, redis.version,
                        redis.masters.size(), redis.nodes.size());
                for (String mode : modes) {
                    if (mode.equals("b") && redis.version.startsWith("6.")) {
                        System.out.printf("%n--- %s / b: skipped, SSUBSCRIBE/SPUBLISH need Redis 7.0%n", topology);
                        continue;
                    }
                    new Run(redis, mode, users, changes, rate).measure();
                    if (mode.equals("c") && topology.equals("standalone")) {
                        int maxKeys = Integer.parseInt(options.get("trackingMaxKeys"));
                        new Run(redis, "c", users, changes, rate).trackingTableMaxKeys(maxKeys).measure();
                    }
                }
                if (modes.contains("c")) {
                    Checks.run(redis);
                }
            }
        }
    }

    // ---- Redis under test

    /** A standalone server (7.0 from the PATH, or the embedded 6.2) or a 3-master cluster, and clients on it. */
    static final class Topology implements AutoCloseable {

        final String name;

        final String version;

        /** Masters in slot order; a standalone server owns every slot. */
        final List<RedisURI> masters = new ArrayList<>();

        /** Every node, masters first, for the counters. */
        final List<RedisURI> nodes = new ArrayList<>();

        /** Owner (index in {@link #masters}) of each slot. */
        final int[] slotOwner = new int[SlotHash.SLOT_COUNT];

        /** The client the core's executor and the writer use (cluster-aware on a cluster). */
        final AbstractRedisClient client;

        /** Connections to single nodes (counters, per-node subscriptions and tracking). */
        final RedisClient nodeClient;

        private final AutoCloseable servers;

        private Topology(String name, AutoCloseable servers, AbstractRedisClient client, RedisClient nodeClient,
                String version) {
            this.name = name;
            this.servers = servers;
            this.client = client;
            this.nodeClient = nodeClient;
            this.version = version;
        }

        static Topology start(String name) {
            RedisClient nodeClient = RedisClient.create();
            nodeClient.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
            if (name.equals("cluster")) {
                RedisCluster cluster = RedisServers.cluster().start();
                List<RedisURI> seeds = cluster.nodes().stream().map((n) -> RedisURI.create("redis://" + n)).toList();
                RedisClusterClient client = RedisClusterClient.create(seeds);
                Topology topology = new Topology(name, cluster, client, nodeClient, cluster.masters().get(0).version());
                cluster.masters().forEach((m) -> topology.masters.add(RedisURI.create(m.host(), m.port())));
                topology.nodes.addAll(topology.masters);
                cluster.replicas().forEach((r) -> topology.nodes.add(RedisURI.create(r.host(), r.port())));
                try (StatefulRedisClusterConnection<String, String> probe = client.connect(StringCodec.UTF8)) {
                    for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
                        RedisURI owner = probe.getPartitions().getMasterBySlot(slot).getUri();
                        topology.slotOwner[slot] = indexOf(topology.masters, owner);
                    }
                }
                return topology;
            }
            RedisServer server = name.equals("standalone62") ? RedisServers.standalone().embeddedOnly().start()
                    : RedisServers.standalone().start();
            RedisURI uri = RedisURI.create(server.host(), server.port());
            Topology topology = new Topology(name, server, RedisClient.create(uri), nodeClient, server.version());
            topology.masters.add(uri);
            topology.nodes.add(uri);
            return topology;
        }

        private static int indexOf(List<RedisURI> masters, RedisURI uri) {
            for (int i = 0; i < masters.size(); i++) {
                if (masters.get(i).getPort() == uri.getPort()) {
                    return i;
                }
            }
            throw new IllegalStateException("No master at " + uri);
        }

        @SuppressWarnings("unchecked")
        StatefulConnection<String, String> connect() {
            return (this.client instanceof RedisClusterClient cluster) ? cluster.connect(StringCodec.UTF8)
                    : ((RedisClient) this.client).connect(StringCodec.UTF8);
        }

        StatefulRedisPubSubConnection<String, String> connectPubSub() {
            return (this.client instanceof RedisClusterClient cluster) ? cluster.connectPubSub(StringCodec.UTF8)
                    : ((RedisClient) this.client).connectPubSub(StringCodec.UTF8);
        }

        @SuppressWarnings("unchecked")
        static RedisClusterAsyncCommands<String, String> async(StatefulConnection<String, String> connection) {
            return (connection instanceof StatefulRedisClusterConnection<?, ?> cluster)
                    ? ((StatefulRedisClusterConnection<String, String>) cluster).async()
                    : ((StatefulRedisConnection<String, String>) connection).async();
        }

        /** A core executor with its own connections, as a gateway of the starter has. */
        RedisStatefulExecutor executor(boolean withNotices) {
            return executor(withNotices, false);
        }

        /** With {@code tracking}: the core's own client tracking, and no channel publishing. */
        RedisStatefulExecutor executor(boolean withNotices, boolean tracking) {
            RedisStatefulExecutor.Builder builder = RedisStatefulExecutor.builder()
                .connector(this::connect)
                .keyPrefix(PREFIX)
                .commandTimeout(Duration.ofSeconds(30));
            if (withNotices) {
                builder.pubSubConnections(this::connectPubSub);
            }
            if (tracking) {
                builder.trackingConnection(this::connect).publishChanges(false);
            }
            return builder.build();
        }

        StatefulRedisConnection<String, String> connectNode(RedisURI node) {
            return this.nodeClient.connect(StringCodec.UTF8, node);
        }

        int masterOf(String key) {
            return this.slotOwner[SlotHash.getSlot(key)];
        }

        /** Loads a script on every master, so EVALSHA finds it wherever its key lives. */
        String load(String source) {
            String sha = null;
            for (RedisURI master : this.masters) {
                try (StatefulRedisConnection<String, String> node = connectNode(master)) {
                    sha = node.sync().scriptLoad(source);
                }
            }
            return sha;
        }

        void flushAll() {
            for (RedisURI master : this.masters) {
                try (StatefulRedisConnection<String, String> node = connectNode(master)) {
                    node.sync().flushall();
                }
            }
        }

        void configSet(String parameter, String value) {
            for (RedisURI master : this.masters) {
                try (StatefulRedisConnection<String, String> node = connectNode(master)) {
                    node.sync().configSet(parameter, value);
                }
            }
        }

        @Override
        public void close() throws Exception {
            this.client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            this.nodeClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            this.servers.close();
        }
    }

    // ---- one mode on one topology

    static final class Run {

        private final Topology redis;

        private final String mode;

        private final int users;

        private final int changes;

        private final int rate;

        private int trackingMaxKeys;

        /** When the write of each changed user was sent (System.nanoTime()). */
        private final Map<String, Long> sentAt = new ConcurrentHashMap<>();

        private final List<Gateway> gateways = new ArrayList<>();

        /** The writer's own connection (modes b and c). */
        private final List<AutoCloseable> opened = new ArrayList<>();

        Run(Topology redis, String mode, int users, int changes, int rate) {
            this.redis = redis;
            this.mode = mode;
            this.users = users;
            this.changes = changes;
            this.rate = rate;
        }

        Run trackingTableMaxKeys(int maxKeys) {
            this.trackingMaxKeys = maxKeys;
            return this;
        }

        void measure() throws Exception {
            String label = this.redis.name + " / " + this.mode
                    + ((this.trackingMaxKeys > 0) ? " (tracking-table-max-keys " + this.trackingMaxKeys + ")" : "");
            System.out.printf("%n--- %s%n", label);
            this.redis.flushAll();
            // Redis' default bound unless this run sets a smaller one
            this.redis.configSet("tracking-table-max-keys",
                    Integer.toString((this.trackingMaxKeys > 0) ? this.trackingMaxKeys : 1_000_000));
            try (RedisStatefulExecutor writer = this.redis.executor(false, this.mode.equals("d"));
                    NodeCounters counters = new NodeCounters(this.redis)) {
                String[] uids = new String[this.users];
                for (int i = 0; i < this.users; i++) {
                    uids[i] = Long.toString(1_000_000_000L + i);
                }
                // every user linked persistently, as a pod holding it would
                LinkMemory.write(uids.length, (i) -> writer.setLinkedPodAsync(NAMESPACE, uids[i], SERVICE, i % 3,
                        RouteArguments.PERSIST_FOREVER));
                for (int g = 0; g < GATEWAYS; g++) {
                    this.gateways.add(newGateway());
                }
                // user i is read (cached) by gateway i % 8 only
                long memoryBeforeReads = counters.usedMemory();
                List<CompletableFuture<?>> reads = new ArrayList<>();
                for (int g = 0; g < GATEWAYS; g++) {
                    List<String> mine = new ArrayList<>();
                    for (int i = g; i < uids.length; i += GATEWAYS) {
                        mine.add(uids[i]);
                    }
                    reads.add(this.gateways.get(g).read(mine));
                }
                CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
                System.out.printf(Locale.ROOT, "used_memory delta over the reads, all masters: %.1f B per user read%n",
                        (double) (counters.usedMemory() - memoryBeforeReads) / this.users);
                // a bounded tracking table drops keys (and pushes their invalidation) before any change
                long receivedBeforeChanges = this.gateways.stream().mapToLong((g) -> g.received.get()).sum();
                this.gateways.forEach(Gateway::resetCounters);
                Map<String, Long> trackedBefore = counters.trackingKeys();
                List<String> changed = pickChanged(uids);
                long stillCached = changed.stream()
                    .filter((uid) -> this.gateways.stream().anyMatch((g) -> g.cached.contains(uid)))
                    .count();
                Change change = changer(writer);
                counters.snapshot();
                long started = System.nanoTime();
                long interval = TimeUnit.SECONDS.toNanos(1) / this.rate;
                List<CompletableFuture<?>> writes = new ArrayList<>(changed.size());
                for (int i = 0; i < changed.size(); i++) {
                    long due = started + i * interval;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    String uid = changed.get(i);
                    int pod = (int) ((Long.parseLong(uid) - 1_000_000_000L + 1) % 3);
                    this.sentAt.put(uid, System.nanoTime());
                    writes.add(change.apply(uid, pod));
                }
                CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
                long sendNanos = System.nanoTime() - started;
                awaitEvictions(stillCached);
                Thread.sleep(300); // the broadcast modes' last receipts at the other gateways
                Map<String, NodeCounters.Delta> perNode = counters.delta();
                report(changed.size(), stillCached, sendNanos, receivedBeforeChanges, trackedBefore, perNode,
                        counters);
            }
            finally {
                this.gateways.forEach(Gateway::close);
                for (AutoCloseable closeable : this.opened) {
                    closeable.close();
                }
            }
        }

        /** Changes go to distinct users; on a cluster all of them live on the first master. */
        private List<String> pickChanged(String[] uids) {
            List<String> candidates = new ArrayList<>();
            for (String uid : uids) {
                if (this.redis.masters.size() == 1 || this.redis.masterOf(linkKey(uid)) == 0) {
                    candidates.add(uid);
                }
            }
            java.util.Collections.shuffle(candidates, new Random(42));
            return candidates.subList(0, Math.min(this.changes, candidates.size()));
        }

        private void awaitEvictions(long expected) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
                long evicted = this.gateways.stream().mapToLong((g) -> g.evicted.get()).sum();
                if (evicted >= expected) {
                    return;
                }
                Thread.sleep(10);
            }
            System.out.println("  (not every change reached its caching gateway within 20 s)");
        }

        private void report(int changed, long stillCached, long sendNanos, long receivedBeforeChanges,
                Map<String, Long> trackedBefore, Map<String, NodeCounters.Delta> perNode, NodeCounters counters) {
            long received = 0;
            long evicted = 0;
            long idle = 0;
            List<Long> latencies = new ArrayList<>();
            for (Gateway gateway : this.gateways) {
                received += gateway.received.get();
                evicted += gateway.evicted.get();
                idle += gateway.idle.get();
                latencies.addAll(gateway.latencies);
            }
            long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            System.out.printf(Locale.ROOT, "changes %,d sent in %.1f s; gateways' receipts: %,d (%.2f per change), "
                    + "evicting a cached user %,d, evicting nothing %,d%n", changed, sendNanos / 1e9, received,
                    (double) received / changed, evicted, idle);
            if (receivedBeforeChanges > 0 || stillCached < changed) {
                System.out.printf("  receipts before any change (tracking table evictions): %,d; changed users still "
                        + "cached when the changes started: %,d%n", receivedBeforeChanges, stillCached);
            }
            System.out.printf(Locale.ROOT, "latency write sent -> caching gateway's receipt (%,d): p50 %.3f ms, "
                    + "p99 %.3f ms, max %.3f ms%n", sorted.length, percentile(sorted, 50), percentile(sorted, 99),
                    (sorted.length > 0) ? sorted[sorted.length - 1] / 1e6 : Double.NaN);
            System.out.println("node | role | net out B/change | bus publish msgs/change (sent/recv) | "
                    + "bus publishshard msgs/change (sent/recv) | publish+spublish calls | tracked keys (after reads) | "
                    + "clients sub/ssub/tracking");
            int i = 0;
            for (Map.Entry<String, NodeCounters.Delta> node : perNode.entrySet()) {
                NodeCounters.Delta d = node.getValue();
                String role = (i < this.redis.masters.size()) ? "master " + i : "replica of " + (i - this.redis.masters.size());
                System.out.printf(Locale.ROOT, "%s | %s | %.1f | %.2f / %.2f | %.2f / %.2f | %d | %s | %s%n",
                        node.getKey(), role, (double) d.netOut() / changed, (double) d.publishSent() / changed,
                        (double) d.publishReceived() / changed, (double) d.shardSent() / changed,
                        (double) d.shardReceived() / changed, d.publishCalls(), trackedBefore.getOrDefault(node.getKey(), 0L),
                        counters.clients(node.getKey()));
                i++;
            }
        }

        private static double percentile(long[] sorted, int p) {
            if (sorted.length == 0) {
                return Double.NaN;
            }
            int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
            return sorted[Math.max(0, index)] / 1e6;
        }

        // ---- the writer of each mode

        interface Change {

            CompletableFuture<?> apply(String uid, int pod);
        }

        private Change changer(RedisStatefulExecutor core) {
            if (this.mode.equals("a") || this.mode.equals("d")) {
                return (uid, pod) -> core.setLinkedPodAsync(NAMESPACE, uid, SERVICE, pod, RouteArguments.PERSIST_FOREVER);
            }
            // the core's set_link.lua, its notice sent with SPUBLISH (b) or not at all (c)
            String script = RouteFixture.coreScript("set_link");
            if (!script.contains(PUBLISH_CALL)) {
                throw new IllegalStateException("common.lua no longer publishes with " + PUBLISH_CALL);
            }
            script = script.replace(PUBLISH_CALL, this.mode.equals("b")
                    ? "redis.call('SPUBLISH', channel, message)" : "local _ = channel");
            String sha = this.redis.load(script);
            StatefulConnection<String, String> connection = this.redis.connect();
            this.opened.add(connection);
            RedisClusterAsyncCommands<String, String> async = Topology.async(connection);
            if (this.mode.equals("b") && !scriptMaySpublish(async, sha)) {
                String quiet = this.redis.load(RouteFixture.coreScript("set_link").replace(PUBLISH_CALL, "local _ = channel"));
                System.out.println("  falling back to SPUBLISH from the client after the script (not atomic)");
                return (uid, pod) -> {
                    String key = linkKey(uid);
                    return async.evalsha(quiet, ScriptOutputType.INTEGER, new String[] { key },
                            Integer.toString(pod), "-1", CHANNEL, "", "", "0")
                        .thenCompose((previous) -> async.spublish(SlotChannels.of(key), NAMESPACE + ' ' + uid + ' ' + SERVICE))
                        .toCompletableFuture();
                };
            }
            return (uid, pod) -> {
                String key = linkKey(uid);
                String channel = this.mode.equals("b") ? SlotChannels.of(key) : CHANNEL;
                return async.evalsha(sha, ScriptOutputType.INTEGER, new String[] { key }, Integer.toString(pod), "-1",
                        channel, NAMESPACE + ' ' + uid + ' ' + SERVICE, "", "0").toCompletableFuture();
            };
        }

        /** Whether this server lets a script SPUBLISH to a channel of its key's slot (moving a user nobody caches). */
        private static boolean scriptMaySpublish(RedisClusterAsyncCommands<String, String> async, String sha) {
            String key = linkKey("spublish-probe");
            try {
                for (int pod = 0; pod < 2; pod++) {
                    async.evalsha(sha, ScriptOutputType.INTEGER, new String[] { key }, Integer.toString(pod), "-1",
                            SlotChannels.of(key), "probe", "", "0").get(10, TimeUnit.SECONDS);
                }
                System.out.println("  a script may SPUBLISH to a channel in its key's slot: yes");
                return true;
            }
            catch (Exception ex) {
                System.out.println("  a script may SPUBLISH to a channel in its key's slot: no (" + ex.getMessage() + ")");
                return false;
            }
        }

        // ---- the gateways of each mode

        private Gateway newGateway() {
            return switch (this.mode) {
                case "a" -> new CoreGateway(this.redis, this.sentAt, false);
                case "d" -> new CoreGateway(this.redis, this.sentAt, true);
                case "b" -> new ShardedGateway(this.redis, this.sentAt);
                case "c" -> new TrackingGateway(this.redis, this.sentAt);
                default -> throw new IllegalArgumentException("mode " + this.mode + ": use a, b, c or d");
            };
        }
    }

    /** One gateway: what it cached, what it received, and how long its notices took. */
    abstract static class Gateway implements AutoCloseable {

        final Set<String> cached = ConcurrentHashMap.newKeySet();

        final AtomicLong received = new AtomicLong();

        final AtomicLong evicted = new AtomicLong();

        /** Receipts that named no cached user: what a notice costs a gateway for nothing. */
        final AtomicLong idle = new AtomicLong();

        final List<Long> latencies = java.util.Collections.synchronizedList(new ArrayList<>());

        private final Map<String, Long> sentAt;

        final List<AutoCloseable> closeables = new ArrayList<>();

        Gateway(Map<String, Long> sentAt) {
            this.sentAt = sentAt;
        }

        void resetCounters() {
            this.received.set(0);
            this.evicted.set(0);
            this.idle.set(0);
            this.latencies.clear();
        }

        /** Reads (and caches) the users; completes once every read answered. */
        abstract CompletableFuture<?> read(List<String> uids);

        /** A notice or invalidation naming the user arrived (on a Redis I/O thread). */
        final void noticed(String uid) {
            long now = System.nanoTime();
            this.received.incrementAndGet();
            if (this.cached.remove(uid)) {
                this.evicted.incrementAndGet();
                Long sent = this.sentAt.get(uid);
                if (sent != null) {
                    this.latencies.add(now - sent);
                }
            }
            else {
                this.idle.incrementAndGet();
            }
        }

        @Override
        public void close() {
            for (AutoCloseable closeable : this.closeables) {
                try {
                    closeable.close();
                }
                catch (Exception ex) {
                    // already closed with its client
                }
            }
        }
    }

    /**
     * Modes a and d: the core's executor and its notices, on the single channel (a) or by the
     * core's own client tracking (d).
     */
    static final class CoreGateway extends Gateway {

        private final RedisStatefulExecutor executor;

        CoreGateway(Topology redis, Map<String, Long> sentAt, boolean tracking) {
            super(sentAt);
            this.executor = redis.executor(!tracking, tracking);
            AutoCloseable subscription = this.executor.subscribeLinkChanges(new LinkChangeListener() {
                @Override
                public void linkChanged(String namespace, String uid, String service) {
                    noticed(uid);
                }

                @Override
                public void probeReceived(String token) {
                }

                @Override
                public void subscribed() {
                }
            });
            this.closeables.add(subscription);
            this.closeables.add(this.executor);
        }

        @Override
        CompletableFuture<?> read(List<String> uids) {
            return readWithCore(this.executor, this, uids);
        }
    }

    static CompletableFuture<?> readWithCore(RedisStatefulExecutor executor, Gateway gateway, List<String> uids) {
        List<CompletableFuture<?>> reads = new ArrayList<>(uids.size());
        for (String uid : uids) {
            reads.add(executor.getLinkAsync(NAMESPACE, uid, SERVICE).thenRun(() -> gateway.cached.add(uid)));
        }
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new));
    }

    /** Mode b: SSUBSCRIBE to every slot's channel, on the master that owns the slot. */
    static final class ShardedGateway extends Gateway {

        private final RedisStatefulExecutor executor;

        ShardedGateway(Topology redis, Map<String, Long> sentAt) {
            super(sentAt);
            this.executor = redis.executor(false);
            List<CompletableFuture<?>> subscriptions = new ArrayList<>();
            for (int m = 0; m < redis.masters.size(); m++) {
                StatefulRedisPubSubConnection<String, String> pubSub = redis.nodeClient
                    .connectPubSub(StringCodec.UTF8, redis.masters.get(m));
                this.closeables.add(pubSub);
                pubSub.addListener(new RedisPubSubAdapter<>() {
                    @Override
                    public void smessage(String shardChannel, String message) {
                        int first = message.indexOf(' ');
                        int second = message.indexOf(' ', first + 1);
                        if (first > 0 && second > first) { // not the writer's probe
                            noticed(message.substring(first + 1, second));
                        }
                    }
                });
                for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
                    if (redis.slotOwner[slot] == m) {
                        subscriptions.add(pubSub.async().ssubscribe(SlotChannels.CHANNELS[slot]).toCompletableFuture());
                    }
                }
            }
            CompletableFuture.allOf(subscriptions.toArray(CompletableFuture[]::new)).join();
            this.closeables.add(this.executor);
        }

        @Override
        CompletableFuture<?> read(List<String> uids) {
            return readWithCore(this.executor, this, uids);
        }
    }

    /**
     * Mode c: per master, a RESP3 connection with {@code CLIENT TRACKING on OPTIN}; each read
     * is {@code CLIENT CACHING yes} and {@code EVALSHA get_link} written in one batch, so no
     * other command of a shared connection can come between them.
     */
    static final class TrackingGateway extends Gateway {

        private final Topology redis;

        private final List<StatefulRedisConnection<String, String>> connections = new ArrayList<>();

        private final String getLinkSha;

        TrackingGateway(Topology redis, Map<String, Long> sentAt) {
            super(sentAt);
            this.redis = redis;
            this.getLinkSha = redis.load(RouteFixture.coreScript("get_link"));
            for (RedisURI master : redis.masters) {
                StatefulRedisConnection<String, String> connection = redis.connectNode(master);
                connection.addListener((PushMessage push) -> {
                    if (push.getType().equals("invalidate")) {
                        invalidated(push);
                    }
                });
                connection.sync().clientTracking(TrackingArgs.Builder.enabled().optin());
                this.connections.add(connection);
                this.closeables.add(connection);
            }
        }

        private void invalidated(PushMessage push) {
            List<String> keys = invalidatedKeys(push);
            if (keys == null) {
                // the whole tracking table was flushed (FLUSHALL, or the server dropped it)
                this.cached.clear();
                return;
            }
            keys.forEach((key) -> noticed(uidOf(key)));
        }

        @Override
        CompletableFuture<?> read(List<String> uids) {
            List<CompletableFuture<?>> reads = new ArrayList<>(uids.size());
            for (String uid : uids) {
                String key = linkKey(uid);
                reads.add(trackedRead(this.connections.get(this.redis.masterOf(key)), this.getLinkSha, key)
                    .thenRun(() -> this.cached.add(uid)));
            }
            return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new));
        }
    }

    /** The keys of an {@code invalidate} push, or null when it invalidates everything. */
    static List<String> invalidatedKeys(PushMessage push) {
        Object keys = push.getContent(StringCodec.UTF8::decodeKey).get(1);
        if (keys == null) {
            return null;
        }
        List<String> decoded = new ArrayList<>();
        for (Object key : (List<?>) keys) {
            decoded.add((key instanceof ByteBuffer buffer) ? StringCodec.UTF8.decodeKey(buffer) : String.valueOf(key));
        }
        return decoded;
    }

    /** {@code CLIENT CACHING yes} and {@code EVALSHA get_link} in one write; completes with the script's reply. */
    static CompletableFuture<List<Object>> trackedRead(StatefulRedisConnection<String, String> connection, String sha,
            String key) {
        return Checks.trackedCall(connection, sha, key);
    }

    // ---- keys and channels

    /** The core's key of the user's link to {@link RouteFixture#SERVICE} (see RouteKeys). */
    static String linkKey(String uid) {
        return RouteFixture.linkKey(uid, SERVICE);
    }

    /** The uid inside a link key's hash tag {@code {u:<ns>:<uid>}}. */
    static String uidOf(String linkKey) {
        int start = linkKey.indexOf(':', linkKey.indexOf("{u:") + 3) + 1;
        return linkKey.substring(start, linkKey.indexOf('}', start));
    }

    /** A channel per cluster slot: {@code sr:{<tag>}:link-changes} with a tag that hashes to that slot. */
    static final class SlotChannels {

        static final String[] CHANNELS = new String[SlotHash.SLOT_COUNT];

        static {
            int filled = 0;
            for (int i = 0; filled < CHANNELS.length; i++) {
                String tag = Integer.toString(i, 36);
                int slot = SlotHash.getSlot(tag);
                if (CHANNELS[slot] == null) {
                    CHANNELS[slot] = PREFIX + ":{" + tag + "}:link-changes";
                    filled++;
                }
            }
        }

        static String of(String key) {
            return CHANNELS[SlotHash.getSlot(key)];
        }
    }

    // ---- counters on the Redis side

    /** Per node: INFO stats / commandstats and CLUSTER INFO before and after the change phase. */
    static final class NodeCounters implements AutoCloseable {

        record Delta(long netOut, long publishSent, long publishReceived, long shardSent, long shardReceived,
                long publishCalls) {
        }

        private final Topology redis;

        private final Map<String, StatefulRedisConnection<String, String>> connections = new LinkedHashMap<>();

        private Map<String, long[]> before;

        /** Net output bytes of one snapshot round itself (its INFO replies), subtracted from the deltas. */
        private long[] ownBytes;

        NodeCounters(Topology redis) {
            this.redis = redis;
            for (RedisURI node : redis.nodes) {
                this.connections.put(node.getHost() + ":" + node.getPort(), redis.connectNode(node));
            }
        }

        void snapshot() {
            Map<String, long[]> first = read();
            Map<String, long[]> second = read();
            this.ownBytes = new long[first.size()];
            int i = 0;
            for (String node : first.keySet()) {
                this.ownBytes[i++] = second.get(node)[0] - first.get(node)[0];
            }
            this.before = second;
        }

        Map<String, Delta> delta() {
            Map<String, long[]> after = read();
            Map<String, Delta> deltas = new LinkedHashMap<>();
            int i = 0;
            for (String node : after.keySet()) {
                long[] a = after.get(node);
                long[] b = this.before.get(node);
                deltas.put(node, new Delta(a[0] - b[0] - this.ownBytes[i++], a[1] - b[1], a[2] - b[2], a[3] - b[3],
                        a[4] - b[4], a[5] - b[5]));
            }
            return deltas;
        }

        /** used_memory summed over the masters. */
        long usedMemory() {
            long sum = 0;
            int i = 0;
            for (StatefulRedisConnection<String, String> c : this.connections.values()) {
                if (i++ < this.redis.masters.size()) {
                    sum += field(c.sync().info("memory"), "used_memory");
                }
            }
            return sum;
        }

        /** tracking_total_keys of every node. */
        Map<String, Long> trackingKeys() {
            Map<String, Long> keys = new LinkedHashMap<>();
            this.connections.forEach((node, c) -> keys.put(node, field(c.sync().info("stats"), "tracking_total_keys")));
            return keys;
        }

        /** Clients of a node with subscriptions, shard subscriptions and tracking on. */
        String clients(String node) {
            int sub = 0;
            int ssub = 0;
            int tracking = 0;
            for (String line : this.connections.get(node).sync().clientList().split("\n")) {
                sub += (intField(line, " sub=") > 0) ? 1 : 0;
                ssub += (intField(line, " ssub=") > 0) ? 1 : 0;
                String flags = textField(line, " flags=");
                tracking += (flags != null && flags.contains("t")) ? 1 : 0;
            }
            return sub + "/" + ssub + "/" + tracking;
        }

        private Map<String, long[]> read() {
            Map<String, long[]> values = new LinkedHashMap<>();
            this.connections.forEach((node, c) -> {
                String stats = c.sync().info("stats");
                String commands = c.sync().info("commandstats");
                String cluster = this.redis.name.equals("cluster") ? c.sync().clusterInfo() : "";
                values.put(node, new long[] { field(stats, "total_net_output_bytes"),
                        field(cluster, "cluster_stats_messages_publish_sent"),
                        field(cluster, "cluster_stats_messages_publish_received"),
                        field(cluster, "cluster_stats_messages_publishshard_sent"),
                        field(cluster, "cluster_stats_messages_publishshard_received"),
                        calls(commands, "publish") + calls(commands, "spublish") });
            });
            return values;
        }

        private static long field(String info, String name) {
            for (String line : info.split("\r?\n")) {
                if (line.startsWith(name + ":")) {
                    return Long.parseLong(line.substring(name.length() + 1).trim());
                }
            }
            return 0;
        }

        private static long calls(String commandstats, String command) {
            for (String line : commandstats.split("\r?\n")) {
                if (line.startsWith("cmdstat_" + command + ":")) {
                    int start = line.indexOf("calls=") + 6;
                    return Long.parseLong(line.substring(start, line.indexOf(',', start)));
                }
            }
            return 0;
        }

        private static int intField(String line, String name) {
            String value = textField(line, name);
            return (value != null) ? Integer.parseInt(value) : 0;
        }

        private static String textField(String line, String name) {
            int start = line.indexOf(name);
            if (start < 0) {
                return null;
            }
            start += name.length();
            int end = line.indexOf(' ', start);
            return line.substring(start, (end < 0) ? line.length() : end).trim();
        }

        @Override
        public void close() {
            this.connections.values().forEach(StatefulConnection::close);
        }
    }

    // ---- checks the choice depends on

    /** Facts of client tracking the design relies on, checked on this server rather than assumed. */
    static final class Checks {

        static void run(Topology redis) throws Exception {
            System.out.printf("%n--- %s: tracking checks (first master)%n", redis.name);
            redis.flushAll();
            redis.configSet("tracking-table-max-keys", "1000000");
            RedisURI master = redis.masters.get(0);
            String key = linkKey(findUidOn(redis, 0));
            String getLink = redis.load(RouteFixture.coreScript("get_link"));
            // its last argument, tracked '1', makes it read the link again after creating it (keep_tracked)
            String linkIfAbsent = redis.load(RouteFixture.coreScript("link_if_absent"));
            String setLink = redis.load(RouteFixture.coreScript("set_link").replace(PUBLISH_CALL, "local _ = channel"));
            List<String> pushes = java.util.Collections.synchronizedList(new ArrayList<>());
            try (StatefulRedisConnection<String, String> writer = redis.connectNode(master);
                    StatefulRedisConnection<String, String> gateway = tracking(redis, master, pushes, false);
                    StatefulRedisConnection<String, String> noLoop = tracking(redis, master, pushes, true)) {
                Function<Integer, Object> move = (pod) -> writer.sync().evalsha(setLink, ScriptOutputType.INTEGER,
                        new String[] { key }, Integer.toString(pod), "-1", CHANNEL, "x", "", "0");

                move.apply(0);
                gateway.async().evalsha(getLink, ScriptOutputType.MULTI, new String[] { key }).get();
                move.apply(1);
                report("1. EVALSHA get_link without CLIENT CACHING yes (OPTIN), then a change", pushes);

                trackedRead(gateway, getLink, key).get();
                move.apply(2);
                report("2. CLIENT CACHING yes + EVALSHA get_link (the GET inside the script), then a change", pushes);

                writer.sync().del(key);
                trackedCall(gateway, linkIfAbsent, key, "0", "300000", "0").get();
                report("3. CLIENT CACHING yes + EVALSHA link_if_absent creating the link, tracked '0' (GET, then its "
                        + "own SET)", pushes);
                move.apply(1);
                report("3b. ... then a change by another client", pushes);

                writer.sync().del(key);
                trackedCall(noLoop, linkIfAbsent, key, "0", "300000", "1").get();
                report("4. same on a NOLOOP connection, tracked '1': the script reads the link again after its SET",
                        pushes);
                move.apply(2);
                report("4b. ... then a change by another client", pushes);

                trackedRead(gateway, getLink, key).get();
                long id = gateway.sync().clientId();
                writer.sync().clientKill(io.lettuce.core.KillArgs.Builder.id(id));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                long newId = id;
                while (newId == id && System.nanoTime() < deadline) {
                    try {
                        newId = gateway.sync().clientId();
                    }
                    catch (Exception ex) {
                        Thread.sleep(50);
                    }
                }
                String info = gateway.sync().clientTrackinginfo().toString();
                move.apply(0);
                report("5. tracked read, connection killed, Lettuce reconnected (id " + id + " -> " + newId
                        + ", CLIENT TRACKINGINFO now " + info + "), then a change", pushes);
            }
        }

        private static StatefulRedisConnection<String, String> tracking(Topology redis, RedisURI master,
                List<String> pushes, boolean noLoop) {
            StatefulRedisConnection<String, String> connection = redis.connectNode(master);
            String name = noLoop ? "noloop" : "gateway";
            connection.addListener((PushMessage push) -> pushes.add(name + ": " + push.getType() + " "
                    + (push.getType().equals("invalidate") ? invalidatedKeys(push) : push.getContent())));
            TrackingArgs args = TrackingArgs.Builder.enabled().optin();
            connection.sync().clientTracking(noLoop ? args.noloop() : args);
            return connection;
        }

        /** {@code CLIENT CACHING yes} and an {@code EVALSHA} of one key, written together. */
        private static CompletableFuture<List<Object>> trackedCall(StatefulRedisConnection<String, String> connection,
                String sha, String key, String... args) {
            AsyncCommand<String, String, String> caching = new AsyncCommand<>(new Command<>(CommandType.CLIENT,
                    new StatusOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).add("CACHING").add("yes")));
            CommandArgs<String, String> evalArgs = new CommandArgs<>(StringCodec.UTF8).add(sha).add(1).addKey(key);
            for (String arg : args) {
                evalArgs.addValue(arg);
            }
            AsyncCommand<String, String, List<Object>> call = new AsyncCommand<>(new Command<>(CommandType.EVALSHA,
                    new NestedMultiOutput<>(StringCodec.UTF8), evalArgs));
            connection.dispatch(List.<RedisCommand<String, String, ?>>of(caching, call));
            return caching.thenCompose((ok) -> call);
        }

        private static void report(String what, List<String> pushes) throws InterruptedException {
            Thread.sleep(200);
            System.out.printf("%s: pushes %s%n", what, pushes.isEmpty() ? "none" : List.copyOf(pushes));
            pushes.clear();
        }

        private static String findUidOn(Topology redis, int master) {
            for (long i = 0;; i++) {
                String uid = Long.toString(2_000_000_000L + i);
                if (redis.masters.size() == 1 || redis.masterOf(linkKey(uid)) == master) {
                    return uid;
                }
            }
        }
    }
}
