package io.statefulroute.core.redis;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
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
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.output.ValueOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.RedisCommand;
import io.netty.util.Timer;
import io.statefulroute.core.ReplicaAcknowledgementException;

/**
 * A connection of its own on which link scripts run, when they need more than the shared
 * connection gives: tracked, acknowledged by replicas, or both. Standalone and Sentinel: one
 * connection; on Redis Cluster each command goes to the connection of the master that owns its
 * key's slot, so that what follows it there concerns the same server.
 *
 * <p><b>Tracked</b> (link change notices by server-assisted client-side caching, {@code CLIENT
 * TRACKING}): the connection speaks RESP3 with tracking on ({@code OPTIN NOLOOP}) and each script
 * is written together with {@code CLIENT CACHING yes}, so Redis remembers which user keys this
 * client read and, when another client changes one, pushes an {@code invalidate} for it on this
 * connection, in the same atomic step as the change. A notice then reaches only the clients that
 * read the user, from the server that holds it; on a cluster tracking is turned on per node.
 * Redis forgets a client's tracking when its connection drops; Lettuce reconnects without it.
 * A command that finds tracking off (Redis refuses {@code CLIENT CACHING}), or a failure of the
 * connection, tells the listeners at once that notices may have been lost, and tracking is
 * turned on again; the caller's probe ({@link #probe}) bounds how long a loss can go unseen.
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

    /** Receives what the tracking connection reports; called on the Redis client's I/O thread. */
    interface Listener {

        /** Another client changed a key this client read. */
        void invalidated(String key);

        /** What was tracked before may have changed unseen (tracking restarted, or the server flushed it). */
        void mayHaveMissed();
    }

    private final Supplier<? extends StatefulConnection<String, String>> connector;

    private final long timeoutMillis;

    /** Whether Redis tracks the keys read on this connection for it. */
    private final boolean tracking;

    /** Replicas that must confirm each script's writes; 0 for none. */
    private final int replicaAcks;

    private final long ackTimeoutMillis;

    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    /** Node connections whose CLIENT TRACKING is being turned on. */
    private final Set<StatefulRedisConnection<String, String>> enabling = ConcurrentHashMap.newKeySet();

    private volatile StatefulConnection<String, String> connection;

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

    private synchronized void connect() {
        if (this.connection != null) {
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

    /** Opens the connection; a tracking one reports invalidations, with tracking turned on (or on its way). */
    @SuppressWarnings("unchecked")
    private StatefulConnection<String, String> open() {
        StatefulConnection<String, String> opened = this.connector.get();
        // every connection this opens has the same options, so the same answer
        this.expiryTimer = LettuceRedisAccess.expiryTimer(opened, true, this.timeoutMillis);
        if (!this.tracking) {
            return opened;
        }
        if (opened instanceof StatefulRedisClusterConnection<String, String> cluster) {
            cluster.addListener((RedisClusterPushListener) (node, push) -> pushed(push));
            enableOnMasters(cluster);
        }
        else {
            StatefulRedisConnection<String, String> standalone = (StatefulRedisConnection<String, String>) opened;
            standalone.addListener((PushMessage push) -> pushed(push));
            enable(standalone);
        }
        return opened;
    }

    /**
     * The primary moved (a Sentinel failover): the connection would keep reading and writing
     * links on the old primary until Sentinel reconfigures it, about 10 s later, and those writes
     * would be lost. A new connection is opened at once and takes over; what the old one tracked
     * may change unseen on the new primary, so the listeners hear that notices may have been
     * missed. A cluster connection follows its own topology and is left alone.
     */
    void primaryMoved() {
        CompletableFuture.runAsync(() -> {
            StatefulConnection<String, String> old = this.connection;
            if (old == null || old instanceof StatefulRedisClusterConnection<?, ?>) {
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
            this.listeners.forEach(Listener::mayHaveMissed);
            LettuceRedisAccess.closeLater(old, this.timeoutMillis);
        });
    }

    /**
     * Opens the connection again in place of one that dropped, as soon as Redis takes
     * connections: tracking is on from the start, and the listeners hear that what was tracked
     * before may have changed unseen. A cluster connection follows its nodes itself.
     */
    Reopener.Watched reopening() {
        return new Reopener.Watched() {

            @Override
            public boolean isDown() {
                StatefulConnection<String, String> current = LinkConnection.this.connection;
                return current != null && !(current instanceof StatefulRedisClusterConnection<?, ?>) && !current.isOpen();
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
                LinkConnection.this.listeners.forEach(Listener::mayHaveMissed);
                dropped.closeAsync();
                logger.info("Redis takes connections again: reopened the {}", name());
            }
        };
    }

    /**
     * Turns tracking on for every master's connection before the first read, which would
     * otherwise find it off and go untracked; a node connection opened later (a failover, a new
     * master) gets it when it first refuses CLIENT CACHING.
     */
    private void enableOnMasters(StatefulRedisClusterConnection<String, String> cluster) {
        List<CompletableFuture<?>> enabled = new ArrayList<>();
        for (RedisClusterNode node : cluster.getPartitions()) {
            if (node.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
                enabled.add(cluster.getConnectionAsync(node.getNodeId())
                    .thenCompose((connection) -> connection.async().clientTracking(
                            TrackingArgs.Builder.enabled().optin().noloop()).toCompletableFuture()));
            }
        }
        try {
            CompletableFuture.allOf(enabled.toArray(CompletableFuture[]::new)).get(this.timeoutMillis,
                    TimeUnit.MILLISECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        catch (ExecutionException | TimeoutException ex) {
            logger.warn("CLIENT TRACKING is not on for every master yet ({}); it is turned on at first use",
                    ex.getMessage());
        }
    }

    private void enable(StatefulRedisConnection<String, String> node) {
        if (!this.enabling.add(node)) {
            return;
        }
        node.async().clientTracking(TrackingArgs.Builder.enabled().optin().noloop()).whenComplete((ok, ex) -> {
            this.enabling.remove(node);
            if (ex != null) {
                logger.warn("CLIENT TRACKING was refused ({}); link change notices do not arrive", ex.getMessage());
            }
        });
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
            if (System.nanoTime() - this.nextAttemptNanos >= 0) {
                this.nextAttemptNanos = System.nanoTime() + RETRY_INTERVAL_NANOS;
                CompletableFuture.runAsync(this::connect);
            }
            return CompletableFuture.failedFuture(new RedisConnectionException("The " + name() + " is not open yet"));
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
        if (keys == null) {
            // the server dropped every key this client tracked (FLUSHALL, FLUSHDB)
            this.listeners.forEach(Listener::mayHaveMissed);
            return;
        }
        for (Object key : (List<?>) keys) {
            String name = (key instanceof ByteBuffer buffer) ? StringCodec.UTF8.decodeKey(buffer)
                    : String.valueOf(key);
            this.listeners.forEach((listener) -> listener.invalidated(name));
        }
    }

    /** Follows invalidations until the returned handle is closed. */
    AutoCloseable follow(Listener listener) {
        this.listeners.add(listener);
        return () -> this.listeners.remove(listener);
    }

    /**
     * Runs a link script (all its keys in one slot): with the keys it reads tracked for this
     * client, and answered only once the replicas asked for confirmed its writes.
     */
    <T> CompletableFuture<T> eval(LuaScript script, ScriptOutputType type, String[] keys, String... args) {
        return nodeFor(keys[0]).thenCompose((node) -> {
            // a NOSCRIPT fallback is a second write: the replicas' confirmation is of the one after it
            AtomicReference<AsyncCommand<String, String, Long>> resentWait = new AtomicReference<>();
            ScriptCall<T> call = new ScriptCall<>(script, type, keys, args,
                    TimeUnit.MILLISECONDS.toNanos(this.timeoutMillis), new ScriptCall.Sender() {

                        @Override
                        public <R> CompletableFuture<R> send(AsyncCommand<String, String, R> source) {
                            AsyncCommand<String, String, Long> waiting = waitForReplicas();
                            resentWait.set(waiting);
                            return write(node, source, waiting);
                        }
                    });
            AsyncCommand<String, String, Long> waiting = waitForReplicas();
            CompletableFuture<T> reply = write(node, call, waiting);
            if (waiting == null) {
                return reply;
            }
            return reply.thenCompose((value) -> {
                AsyncCommand<String, String, Long> confirming = (resentWait.get() != null) ? resentWait.get() : waiting;
                return confirming.thenApply((confirmed) -> {
                    if (confirmed < this.replicaAcks) {
                        throw new ReplicaAcknowledgementException(confirmed, this.replicaAcks, this.ackTimeoutMillis);
                    }
                    return value;
                });
            });
        });
    }

    /** {@code WAIT <replicas> <timeout>}, or null when no confirmation is asked for. */
    private AsyncCommand<String, String, Long> waitForReplicas() {
        return (this.replicaAcks == 0) ? null : new AsyncCommand<>(new Command<>(CommandType.WAIT,
                new IntegerOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).add(this.replicaAcks)
                    .add(this.ackTimeoutMillis)));
    }

    /** Reads a key with tracking, so a write to it by another client comes back as an invalidation. */
    CompletableFuture<String> probe(String key) {
        return nodeFor(key).thenCompose((node) -> write(node, new AsyncCommand<>(new Command<>(CommandType.GET,
                new ValueOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).addKey(key))), null));
    }

    /**
     * The command in one write with what it needs around it, so no other command of this
     * connection comes between them: {@code CLIENT CACHING yes} first on a tracking connection,
     * and {@code WAIT} (when given) after it. When the first is refused, tracking is off (a
     * reconnect): the listeners hear that notices may have been missed and tracking is turned on
     * again; the command's own reply is returned either way.
     */
    private <T> CompletableFuture<T> write(StatefulRedisConnection<String, String> current,
            AsyncCommand<String, String, T> call, AsyncCommand<String, String, Long> waiting) {
        List<RedisCommand<String, String, ?>> batch = new ArrayList<>(3);
        AsyncCommand<String, String, String> caching = null;
        if (this.tracking) {
            caching = new AsyncCommand<>(new Command<>(CommandType.CLIENT, new StatusOutput<>(StringCodec.UTF8),
                    new CommandArgs<>(StringCodec.UTF8).add("CACHING").add("yes")));
            batch.add(caching);
        }
        batch.add(call);
        if (waiting != null) {
            batch.add(waiting);
        }
        current.dispatch(batch);
        Timer timer = this.expiryTimer;
        if (timer != null) {
            batch.forEach((command) -> LettuceRedisAccess.expire((AsyncCommand<?, ?, ?>) command, timer,
                    this.timeoutMillis));
        }
        if (caching != null) {
            caching.whenComplete((ok, ex) -> {
                if (ex != null) {
                    trackingLost(current, ex);
                }
            });
        }
        call.whenComplete((ok, ex) -> {
            if (isRedirect(ex)) {
                // the caller runs it elsewhere, untracked
                this.listeners.forEach(Listener::mayHaveMissed);
            }
            else if (ex instanceof RedisCommandExecutionException rejected && rejected.getMessage() != null
                    && rejected.getMessage().startsWith("READONLY")) {
                // a Sentinel failover made this server a replica: connect again, to the new primary
                reconnect(current);
            }
            else if (ex != null && !(ex instanceof RedisCommandExecutionException)) {
                trackingLost(current, ex);
            }
        });
        return call;
    }

    private void trackingLost(StatefulRedisConnection<String, String> current, Throwable cause) {
        if (!this.tracking) {
            return;
        }
        logger.debug("Link tracking may have lost invalidations", cause);
        this.listeners.forEach(Listener::mayHaveMissed);
        if (cause instanceof RedisCommandExecutionException) {
            enable(current);
        }
    }

    /** Opens the connection again (a standalone or Sentinel one; a cluster follows its topology). */
    private void reconnect(StatefulRedisConnection<String, String> node) {
        synchronized (this) {
            if (this.connection != node) {
                return;
            }
            this.connection = null;
        }
        this.listeners.forEach(Listener::mayHaveMissed);
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
        StatefulConnection<String, String> current = this.connection;
        if (current != null && current.isOpen()) {
            current.close();
        }
    }
}
