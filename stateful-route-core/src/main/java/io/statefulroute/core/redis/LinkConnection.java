package io.statefulroute.core.redis;

import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StatefulRedisConnectionImpl;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.push.PushMessage;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.push.RedisClusterPushListener;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.output.ValueOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.ProtocolVersion;
import io.netty.util.Timer;
import io.statefulroute.core.ReplicaAcknowledgementException;

/**
 * A connection of its own on which link scripts run, when they need more than the shared
 * connection gives: tracked, acknowledged by replicas, or both. Standalone and Sentinel: one
 * connection; on Redis Cluster each command goes to the connection of the master that owns its
 * key's slot, so that what follows it there concerns the same server.
 *
 * <p><b>Tracked</b> (link change notices by server-assisted client-side caching, {@code CLIENT
 * TRACKING}): the connection speaks RESP3 with tracking on ({@code NOLOOP}) for every key read
 * on it (all of them user keys a caller may cache), so Redis remembers which user keys this
 * client read and, when another client changes one, pushes an {@code invalidate} for it on this
 * connection, in the same atomic step as the change. A notice then reaches only the clients that
 * read the user, from the server that holds it; on a cluster tracking is turned on per node.
 * Not {@code OPTIN}: its {@code CLIENT CACHING yes} applies to the next command the server reads
 * on the connection, which, with callers on many threads, was at times another caller's, and
 * left a read untracked (ConcurrentTrackedCallsTest); it was also a command more per call.
 * Redis forgets a client's tracking when its connection drops; Lettuce reconnects without it.
 * A reconnect (or a connection opened in place of one that dropped), or a cluster node
 * connection used for the first time, turns tracking on before anything else is written on it
 * and tells the listener at once that notices may have been lost; a command written before that
 * and answered after it may have been read untracked, and says so too when it completes. The
 * caller's probe ({@link #trackedGet}) bounds how long a loss can go unseen. A command that goes
 * unanswered tells it nothing: tracking
 * is lost only with the connection, and the reconnect says so once Redis can be read again. Said
 * at every unanswered command, it made gateways re-read cached links at the start of a Redis
 * outage (failing calls the cache could answer), and pods re-read their users, whose reads then
 * failed and said it again. Whether a server can track at all is checked on each connect (RESP3 negotiated, then
 * {@code CLIENT TRACKING} accepted) and told to the listener ({@link Listener#tracking},
 * {@link Listener#cannotTrack}); {@link #stopTracking} makes the connection untracked for good.
 *
 * <p><b>Acknowledged</b>: each script is written together with {@code WAIT <replicas> <timeout>},
 * which answers once that many replicas confirmed every write this connection made so far; a
 * script answered with fewer confirmations fails with {@link ReplicaAcknowledgementException}
 * (it was applied on the primary). {@code WAIT} blocks the connection it is sent on while it
 * waits, so these writes have a connection of their own and hold up nobody else's.
 */
final class LinkConnection implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(LinkConnection.class);

    private static final long RETRY_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Receives what the connection reports; called on the Redis client's I/O thread or the connecting one. */
    interface Listener {

        /** Another client changed a key this client read. */
        void invalidated(String key);

        /** What was tracked before may have changed unseen (tracking restarted, or the server flushed it). */
        void mayHaveMissed();

        /** Tracking is on for every server this connection reaches, after a connect or a reconnect. */
        void tracking(String server);

        /**
         * A server this connection reaches cannot track it ({@code why}): it speaks RESP2 only, or
         * refuses {@code CLIENT TRACKING}. Reported on each attempt, which is made again at the
         * next reconnect (or first use of a cluster node connection) until {@link #stopTracking}.
         */
        void cannotTrack(String why);
    }

    private static final Listener NO_LISTENER = new Listener() {

        @Override
        public void invalidated(String key) {
        }

        @Override
        public void mayHaveMissed() {
        }

        @Override
        public void tracking(String server) {
        }

        @Override
        public void cannotTrack(String why) {
        }
    };

    private final Supplier<? extends StatefulConnection<String, String>> connector;

    private final long timeoutMillis;

    /** Whether Redis tracks the keys read on this connection for it; false for good after {@link #stopTracking}. */
    private volatile boolean tracking;

    /** Set once this connection serves nothing any more: it is not opened again. */
    private volatile boolean retired;

    /** Replicas that must confirm each script's writes; 0 for none. */
    private final int replicaAcks;

    private final long ackTimeoutMillis;

    private volatile Listener listener = NO_LISTENER;

    /**
     * Node connections on which {@code CLIENT TRACKING} was written since they connected (added
     * once it is written, so a command written after a caller saw the node here follows it).
     */
    private final Set<StatefulRedisConnection<String, String>> trackedNodes = ConcurrentHashMap.newKeySet();

    /**
     * Counts each time tracking was turned on again on a node connection: a command written
     * before and answered after may have been read while tracking was off.
     */
    private final AtomicLong trackingRestarts = new AtomicLong();

    /** Node connections whose reconnects turn tracking on again. */
    private final Set<StatefulRedisConnection<String, String>> watched = ConcurrentHashMap.newKeySet();

    private volatile StatefulConnection<String, String> connection;

    /** Sends a NOSCRIPT fallback on the standalone connection the script went to; made once per connection. */
    private volatile NodeSender sender;

    /**
     * Expires tracked commands when Lettuce would let them wait longer than the command
     * timeout (a cluster's node connections); null when Lettuce's own command expiry does,
     * which arms no timer per call.
     */
    private volatile Timer expiryTimer;

    private volatile long nextAttemptNanos;

    /**
     * @param tracking whether Redis tracks the user keys read on this connection
     * @param replicaAcks replicas that must confirm each script's writes (0: none asked for)
     * @param ackTimeout how long a script waits for them, shorter than the command timeout
     */
    LinkConnection(Supplier<? extends StatefulConnection<String, String>> connector, Duration commandTimeout,
            boolean tracking, int replicaAcks, Duration ackTimeout) {
        this.connector = connector;
        this.timeoutMillis = commandTimeout.toMillis();
        this.tracking = tracking;
        this.replicaAcks = replicaAcks;
        this.ackTimeoutMillis = ackTimeout.toMillis();
    }

    /** Opens the connection (or starts trying to), reporting to {@code listener} from then on. */
    void start(Listener listener) {
        this.listener = listener;
        connect();
    }

    /** What the logs call this connection. */
    private String name() {
        return this.tracking ? "link tracking connection" : "acknowledged link connection";
    }

    /** Whether this connection's reads are tracked (it reports invalidations). */
    boolean tracks() {
        return this.tracking;
    }

    /**
     * Runs this connection untracked from now on (no attempt to turn tracking on again); with
     * {@code retire}, it serves nothing any more either and is closed once the commands already
     * on it have had their command timeout.
     */
    void stopTracking(boolean retire) {
        this.tracking = false;
        if (retire) {
            this.retired = true;
            StatefulConnection<String, String> current = this.connection;
            if (current != null) {
                LettuceRedisAccess.closeLater(current, this.timeoutMillis);
            }
        }
    }

    private synchronized void connect() {
        if (this.connection != null || this.retired) {
            return;
        }
        try {
            this.connection = open();
        }
        catch (RedisException ex) {
            logger.warn("Cannot open the {} yet ({}); {}", name(), ex.getMessage(), this.tracking ? "cached links are re-read after the fallback TTL until it is open"
                            : "writes that need acknowledgement fail until it is open");
            this.nextAttemptNanos = System.nanoTime() + RETRY_INTERVAL_NANOS;
        }
    }

    /**
     * Opens the connection; a tracking one reports invalidations and, before it is returned,
     * whether every server it reaches tracks it (within the command timeout).
     */
    @SuppressWarnings("unchecked")
    private StatefulConnection<String, String> open() {
        StatefulConnection<String, String> opened = this.connector.get();
        // every connection this opens has the same options, so the same answer
        this.expiryTimer = LettuceRedisAccess.expiryTimer(opened, true, this.timeoutMillis);
        if (!this.tracking) {
            return opened;
        }
        List<CompletableFuture<StatefulRedisConnection<String, String>>> nodes = new ArrayList<>();
        if (opened instanceof StatefulRedisClusterConnection<String, String> cluster) {
            cluster.addListener((RedisClusterPushListener) (node, push) -> pushed(push));
            // every master before the first read; a node connection opened later (a failover, a
            // new master) gets it before its first command (trackedNode)
            for (RedisClusterNode node : cluster.getPartitions()) {
                if (node.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
                    nodes.add(cluster.getConnectionAsync(node.getNodeId()).toCompletableFuture());
                }
            }
        }
        else {
            StatefulRedisConnection<String, String> standalone = (StatefulRedisConnection<String, String>) opened;
            standalone.addListener((PushMessage push) -> pushed(push));
            nodes.add(CompletableFuture.completedFuture(standalone));
        }
        enableAtConnect(nodes);
        return opened;
    }

    /** Turns tracking on for each node connection and waits for their answers, reported to the listener. */
    private void enableAtConnect(List<CompletableFuture<StatefulRedisConnection<String, String>>> nodes) {
        List<CompletableFuture<String>> answers = new ArrayList<>();
        AtomicReference<String> server = new AtomicReference<>();
        for (CompletableFuture<StatefulRedisConnection<String, String>> node : nodes) {
            answers.add(node.thenCompose((connection) -> {
                watch(connection);
                server.compareAndSet(null, describe(connection));
                return turnOn(connection);
            }));
        }
        try {
            CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).get(this.timeoutMillis,
                    TimeUnit.MILLISECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return;
        }
        catch (ExecutionException | TimeoutException ex) {
            logger.warn("CLIENT TRACKING is not on for every server of the {} yet ({}); it is turned on at first use",
                    name(), ex.getMessage());
            return;
        }
        for (CompletableFuture<String> answer : answers) {
            String why = answer.join();
            if (why != null) {
                this.listener.cannotTrack(why);
                return;
            }
        }
        this.listener.tracking(server.get());
    }

    /**
     * Turns tracking on for a node connection; completes with why the server cannot track it,
     * or null once it does. A connection that speaks RESP2 is not asked: Redis would accept
     * {@code CLIENT TRACKING} and push nothing, since it pushes invalidations only over RESP3.
     * Fails when the server did not answer; the node's next command then asks again first.
     */
    private CompletableFuture<String> turnOn(StatefulRedisConnection<String, String> node) {
        String resp2 = whyResp2(node);
        if (resp2 != null) {
            return CompletableFuture.completedFuture(resp2);
        }
        CompletableFuture<String> answer = node.async().clientTracking(TrackingArgs.Builder.enabled().noloop())
            .toCompletableFuture()
            .handle((ok, ex) -> {
                Throwable cause = (ex instanceof CompletionException && ex.getCause() != null) ? ex.getCause() : ex;
                if (cause == null) {
                    return null;
                }
                if (cause instanceof RedisCommandExecutionException refused) {
                    return "the server refused CLIENT TRACKING (" + refused.getMessage() + ")";
                }
                this.trackedNodes.remove(node);
                throw new CompletionException(cause);
            });
        this.trackedNodes.add(node);
        return answer;
    }

    /** Why the node connection cannot receive invalidations: it speaks RESP2; null when it speaks RESP3 (or cannot tell). */
    private static String whyResp2(StatefulRedisConnection<String, String> node) {
        if (!(node instanceof StatefulRedisConnectionImpl<String, String> impl)
                || impl.getConnectionState().getNegotiatedProtocolVersion() != ProtocolVersion.RESP2) {
            return null;
        }
        return (node.getOptions().getConfiguredProtocolVersion() == ProtocolVersion.RESP2)
                ? "the Redis client is configured for RESP2, and Redis pushes invalidations only over RESP3"
                : "the server (or a proxy before it) refused HELLO 3, so the connection speaks RESP2, and Redis "
                        + "pushes invalidations only over RESP3";
    }

    /** The server a node connection reaches, as its handshake told, for the logs. */
    private static String describe(StatefulRedisConnection<String, String> node) {
        String version = (node instanceof StatefulRedisConnectionImpl<String, String> impl)
                ? impl.getConnectionState().getRedisVersion() : null;
        return (version != null) ? "Redis " + version : "Redis";
    }

    /**
     * After each reconnect of a node connection (Lettuce reconnects without tracking, often
     * before anyone could see it drop), tracking is turned on again and the listener hears that
     * notices may have been missed: a pod that sends no link command for a while still hears of
     * users taken from it.
     */
    private void watch(StatefulRedisConnection<String, String> node) {
        if (!(node instanceof RedisChannelHandler<?, ?> handler) || !this.watched.add(node)) {
            return;
        }
        handler.addListener(new RedisConnectionStateListener() {

            @Override
            public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress socketAddress) {
                // on the connection's I/O thread, before it reads anything the new connection answers
                trackingRestarted(node);
            }
        });
    }

    /**
     * The primary moved (a Sentinel failover): the connection would keep reading and writing
     * links on the old primary until Sentinel reconfigures it, about 10 s later, and those writes
     * would be lost. A new connection is opened at once and takes over; what the old one tracked
     * may change unseen on the new primary, so the listener hears that notices may have been
     * missed. A cluster connection follows its own topology and is left alone.
     */
    void primaryMoved() {
        CompletableFuture.runAsync(() -> {
            StatefulConnection<String, String> old = this.connection;
            if (old == null || old instanceof StatefulRedisClusterConnection<?, ?> || this.retired) {
                return;
            }
            StatefulConnection<String, String> opened;
            try {
                opened = open();
            }
            catch (RedisException ex) {
                logger.warn("Cannot reopen the {} after the primary moved ({})", name(), ex.getMessage());
                return;
            }
            synchronized (this) {
                if (this.connection != old) {
                    opened.closeAsync();
                    return;
                }
                this.connection = opened;
            }
            this.listener.mayHaveMissed();
            LettuceRedisAccess.closeLater(old, this.timeoutMillis);
        });
    }

    /**
     * Opens the connection again in place of one that dropped, as soon as Redis takes
     * connections: tracking is on from the start, and the listener hears that what was tracked
     * before may have changed unseen. A cluster connection follows its nodes itself.
     */
    Reopener.Watched reopening() {
        return new Reopener.Watched() {

            @Override
            public boolean isDown() {
                StatefulConnection<String, String> current = LinkConnection.this.connection;
                return current != null && !(current instanceof StatefulRedisClusterConnection<?, ?>) && !current.isOpen()
                        && !LinkConnection.this.retired;
            }

            @Override
            public void reopen() {
                StatefulConnection<String, String> dropped = LinkConnection.this.connection;
                StatefulConnection<String, String> opened = open();
                synchronized (LinkConnection.this) {
                    if (LinkConnection.this.connection != dropped) {
                        opened.closeAsync();
                        return;
                    }
                    LinkConnection.this.connection = opened;
                }
                LinkConnection.this.listener.mayHaveMissed();
                dropped.closeAsync();
                logger.info("Redis takes connections again: reopened the {}", name());
            }
        };
    }

    /**
     * The node connection to write a command on, with tracking turned on first if it never was
     * since it connected (a cluster node connection opened after a failover or for a new
     * master). Callers that find it off wait for the one that turns it on, so none writes before.
     */
    private StatefulRedisConnection<String, String> trackedNode(StatefulRedisConnection<String, String> node) {
        if (this.tracking && !this.trackedNodes.contains(node)) {
            synchronized (this.trackedNodes) {
                if (!this.trackedNodes.contains(node)) {
                    watch(node);
                    trackingRestarted(node);
                }
            }
        }
        return node;
    }

    /**
     * The connection that serves the key: the only one, or on a cluster the connection of the
     * master that owns the key's slot. Fails while the connection is not open (then a
     * background attempt is started).
     */
    @SuppressWarnings("unchecked")
    private CompletableFuture<StatefulRedisConnection<String, String>> nodeFor(String key) {
        StatefulConnection<String, String> current = this.connection;
        if (current == null) {
            return notOpen();
        }
        if (current instanceof StatefulRedisClusterConnection<String, String> cluster) {
            RedisClusterNode master = cluster.getPartitions().getMasterBySlot(SlotHash.getSlot(key));
            if (master == null) {
                return CompletableFuture.failedFuture(new RedisConnectionException("No master serves the slot of " + key));
            }
            return cluster.getConnectionAsync(master.getNodeId());
        }
        return CompletableFuture.completedFuture((StatefulRedisConnection<String, String>) current);
    }

    /** Fails a call while the connection is not open, starting a background attempt at most once a second. */
    private <T> CompletableFuture<T> notOpen() {
        if (System.nanoTime() - this.nextAttemptNanos >= 0) {
            this.nextAttemptNanos = System.nanoTime() + RETRY_INTERVAL_NANOS;
            CompletableFuture.runAsync(this::connect);
        }
        return CompletableFuture.failedFuture(new RedisConnectionException("The " + name() + " is not open yet"));
    }

    /** Whether commands go to several servers (a cluster), one chosen by each key's slot. */
    boolean isClustered() {
        return this.connection instanceof StatefulRedisClusterConnection<?, ?>;
    }

    /**
     * One key per master (all of them on a single server), each with a name {@code keyOf}
     * gives for an index, so a probe can check every server's invalidations.
     */
    List<String> probeKeys(IntFunction<String> keyOf) {
        if (!(this.connection instanceof StatefulRedisClusterConnection<String, String> cluster)) {
            return List.of(keyOf.apply(0));
        }
        Set<String> masters = new HashSet<>();
        for (RedisClusterNode node : cluster.getPartitions()) {
            if (node.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
                masters.add(node.getNodeId());
            }
        }
        List<String> keys = new ArrayList<>();
        for (int i = 0; !masters.isEmpty() && i < 10_000; i++) {
            String key = keyOf.apply(i);
            RedisClusterNode master = cluster.getPartitions().getMasterBySlot(SlotHash.getSlot(key));
            if (master != null && masters.remove(master.getNodeId())) {
                keys.add(key);
            }
        }
        return keys;
    }

    private void pushed(PushMessage push) {
        if ("invalidate".equals(push.getType())) {
            invalidate(push);
        }
    }

    private void invalidate(PushMessage push) {
        Object keys = push.getContent(StringCodec.UTF8::decodeKey).get(1);
        Listener current = this.listener;
        if (keys == null) {
            // the server dropped every key this client tracked (FLUSHALL, FLUSHDB)
            current.mayHaveMissed();
            return;
        }
        for (Object key : (List<?>) keys) {
            current.invalidated((key instanceof ByteBuffer buffer) ? StringCodec.UTF8.decodeKey(buffer)
                    : String.valueOf(key));
        }
    }

    /**
     * Runs a link script (all its keys in one slot): with the keys it reads tracked for this
     * client, and answered only once the replicas asked for confirmed its writes. On a single
     * server no future stage comes between the call and its reply: this runs for every new user.
     */
    @SuppressWarnings("unchecked")
    <T> CompletableFuture<T> eval(LuaScript script, ScriptOutputType type, String[] keys, String... args) {
        StatefulConnection<String, String> current = this.connection;
        if (current instanceof StatefulRedisConnection<?, ?> single) {
            return evalOn(trackedNode((StatefulRedisConnection<String, String>) single), script, type, keys, args);
        }
        if (current == null) {
            return notOpen();
        }
        return nodeFor(keys[0]).thenCompose((node) -> evalOn(trackedNode(node), script, type, keys, args));
    }

    private <T> CompletableFuture<T> evalOn(StatefulRedisConnection<String, String> node, LuaScript script,
            ScriptOutputType type, String[] keys, String[] args) {
        long timeoutNanos = TimeUnit.MILLISECONDS.toNanos(this.timeoutMillis);
        if (this.replicaAcks == 0) {
            return write(node, new ScriptCall<>(script, type, keys, args, timeoutNanos, senderFor(node)), null);
        }
        // a NOSCRIPT fallback is a second write: the replicas' confirmation is of the one after it
        AtomicReference<AsyncCommand<String, String, Long>> resentWait = new AtomicReference<>();
        ScriptCall<T> call = new ScriptCall<>(script, type, keys, args, timeoutNanos, new ScriptCall.Sender() {

            @Override
            public <R> CompletableFuture<R> send(AsyncCommand<String, String, R> source) {
                AsyncCommand<String, String, Long> waiting = waitForReplicas();
                resentWait.set(waiting);
                return write(node, source, waiting);
            }
        });
        AsyncCommand<String, String, Long> waiting = waitForReplicas();
        return write(node, call, waiting).thenCompose((value) -> {
            AsyncCommand<String, String, Long> confirming = (resentWait.get() != null) ? resentWait.get() : waiting;
            return confirming.thenApply((confirmed) -> {
                if (confirmed < this.replicaAcks) {
                    throw new ReplicaAcknowledgementException(confirmed, this.replicaAcks, this.ackTimeoutMillis);
                }
                return value;
            });
        });
    }

    /** Where a NOSCRIPT fallback goes: the node the script went to, tracked the same way. */
    private ScriptCall.Sender senderFor(StatefulRedisConnection<String, String> node) {
        NodeSender last = this.sender;
        if (last != null && last.node == node) {
            return last;
        }
        NodeSender made = new NodeSender(node);
        if (!(this.connection instanceof StatefulRedisClusterConnection<?, ?>)) {
            this.sender = made;
        }
        return made;
    }

    private final class NodeSender implements ScriptCall.Sender {

        private final StatefulRedisConnection<String, String> node;

        NodeSender(StatefulRedisConnection<String, String> node) {
            this.node = node;
        }

        @Override
        public <R> CompletableFuture<R> send(AsyncCommand<String, String, R> source) {
            return write(this.node, source, null);
        }
    }

    /** {@code WAIT <replicas> <timeout>}, or null when no confirmation is asked for. */
    private AsyncCommand<String, String, Long> waitForReplicas() {
        return (this.replicaAcks == 0) ? null : new AsyncCommand<>(new Command<>(CommandType.WAIT,
                new IntegerOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).add(this.replicaAcks)
                    .add(this.ackTimeoutMillis)));
    }

    /**
     * Reads a key with tracking, so a write to it by another client comes back as an
     * invalidation: a probe's key, or a user's link its pod keeps hearing about.
     */
    CompletableFuture<String> trackedGet(String key) {
        return nodeFor(key).thenCompose((node) -> write(trackedNode(node), new AsyncCommand<>(new Command<>(CommandType.GET,
                new ValueOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).addKey(key))), null));
    }

    /**
     * The command, with {@code WAIT} (when given) in the same write after it, so no other
     * command of this connection comes between them. On a tracking connection, a command
     * written before tracking was turned on again and answered after it tells the listener that
     * notices may have been missed: it may have been read untracked.
     */
    private <T> CompletableFuture<T> write(StatefulRedisConnection<String, String> current,
            AsyncCommand<String, String, T> call, AsyncCommand<String, String, Long> waiting) {
        long restarts = this.trackingRestarts.get();
        if (waiting == null) {
            current.dispatch(call);
        }
        else {
            current.dispatch(List.of(call, waiting));
        }
        Timer timer = this.expiryTimer;
        if (timer != null) {
            LettuceRedisAccess.expire(call, timer, this.timeoutMillis);
            if (waiting != null) {
                LettuceRedisAccess.expire(waiting, timer, this.timeoutMillis);
            }
        }
        call.whenComplete((ok, ex) -> completed(current, restarts, ex));
        return call;
    }

    /** What the end of a call says about the connection. */
    private void completed(StatefulRedisConnection<String, String> current, long restartsWhenWritten, Throwable ex) {
        boolean answered = ex == null || ex instanceof RedisCommandExecutionException;
        if (answered && this.tracking && this.trackingRestarts.get() != restartsWhenWritten) {
            this.listener.mayHaveMissed();
        }
        if (isRedirect(ex)) {
            // the caller runs it elsewhere, untracked
            this.listener.mayHaveMissed();
        }
        else if (ex instanceof RedisCommandExecutionException rejected && rejected.getMessage() != null
                && rejected.getMessage().startsWith("READONLY")) {
            // a Sentinel failover made this server a replica: connect again, to the new primary
            reconnect(current);
        }
    }

    /**
     * Tracking is off for the node connection (it reconnected, or was never used): it is turned
     * on again first, so that what is written after it is tracked, then the listener hears that
     * notices may have been missed, and so does each command written before and answered after.
     */
    private void trackingRestarted(StatefulRedisConnection<String, String> node) {
        if (!this.tracking) {
            return;
        }
        logger.debug("Link tracking may have lost invalidations on the {}", name());
        turnOn(node).whenComplete((why, ex) -> {
            if (why != null) {
                this.listener.cannotTrack(why);
            }
            else if (ex != null) {
                logger.debug("CLIENT TRACKING got no answer; it is sent again before the next command", ex);
            }
            else {
                this.listener.tracking(describe(node));
            }
        });
        this.trackingRestarts.incrementAndGet();
        this.listener.mayHaveMissed();
    }

    /** Opens the connection again (a standalone or Sentinel one; a cluster follows its topology). */
    private void reconnect(StatefulRedisConnection<String, String> node) {
        synchronized (this) {
            if (this.connection != node) {
                return;
            }
            this.connection = null;
        }
        this.listener.mayHaveMissed();
        node.closeAsync();
    }

    /**
     * Whether a command was refused, unexecuted, because its slot is served by another node:
     * a resharding this connection's view of the cluster has not caught up with.
     */
    static boolean isRedirect(Throwable ex) {
        Throwable cause = ex;
        while (cause != null && !(cause instanceof RedisCommandExecutionException)) {
            cause = cause.getCause();
        }
        String message = (cause != null) ? cause.getMessage() : null;
        return message != null && (message.startsWith("MOVED ") || message.startsWith("ASK "));
    }

    @Override
    public void close() {
        this.retired = true;
        StatefulConnection<String, String> current = this.connection;
        if (current != null && current.isOpen()) {
            current.close();
        }
    }
}
