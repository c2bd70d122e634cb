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
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.output.ValueOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.RedisCommand;
import io.netty.util.Timer;

/**
 * Link change notices by server-assisted client-side caching ({@code CLIENT TRACKING}): link
 * scripts run on a dedicated RESP3 connection with tracking on ({@code OPTIN NOLOOP}), each
 * written together with {@code CLIENT CACHING yes}, so Redis remembers which user keys this
 * client read and, when another client changes one, pushes an {@code invalidate} for it on this
 * connection, in the same atomic step as the change. A notice then reaches only the clients
 * that read the user, from the server that holds it. Standalone and Sentinel: one connection;
 * Redis Cluster tracks per node: each command goes to the connection of the master that owns
 * its key's slot, and tracking is turned on per node connection.
 *
 * <p>Redis forgets a client's tracking when its connection drops; Lettuce reconnects without
 * it. A command that finds tracking off (Redis refuses {@code CLIENT CACHING}), or a failure
 * of the connection, tells the listeners at once that notices may have been lost, and tracking
 * is turned on again; the caller's probe ({@link #probe}) bounds how long a loss can go unseen.
 */
final class LinkTracking implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(LinkTracking.class);

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

    LinkTracking(Supplier<? extends StatefulConnection<String, String>> connector, Duration commandTimeout) {
        this.connector = connector;
        this.timeoutMillis = commandTimeout.toMillis();
        connect();
    }

    private synchronized void connect() {
        if (this.connection != null) {
            return;
        }
        try {
            this.connection = open();
        }
        catch (RedisException ex) {
            logger.warn("Cannot open the link tracking connection yet ({}); cached links are re-read after the "
                    + "fallback TTL until it is open", ex.getMessage());
            this.nextAttemptNanos = System.nanoTime() + RETRY_INTERVAL_NANOS;
        }
    }

    /** Opens a connection that reports invalidations, with tracking turned on (or on its way). */
    @SuppressWarnings("unchecked")
    private StatefulConnection<String, String> open() {
        StatefulConnection<String, String> opened = this.connector.get();
        // every connection this opens has the same options, so the same answer
        this.expiryTimer = LettuceRedisAccess.expiryTimer(opened, true, this.timeoutMillis);
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
                logger.warn("Cannot reopen the link tracking connection after the primary moved ({})", ex.getMessage());
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
                StatefulConnection<String, String> current = LinkTracking.this.connection;
                return current != null && !(current instanceof StatefulRedisClusterConnection<?, ?>) && !current.isOpen();
            }

            @Override
            public void reopen() {
                StatefulConnection<String, String> dropped = LinkTracking.this.connection;
                StatefulConnection<String, String> opened = open();
                synchronized (LinkTracking.this) {
                    if (LinkTracking.this.connection != dropped) {
                        opened.closeAsync();
                        return;
                    }
                    LinkTracking.this.connection = opened;
                }
                LinkTracking.this.listeners.forEach(Listener::mayHaveMissed);
                dropped.closeAsync();
                logger.info("Redis takes connections again: reopened the link tracking connection");
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
            return CompletableFuture.failedFuture(new RedisConnectionException("The link tracking connection is not open yet"));
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

    /** Runs a link script (all its keys in one slot) with the keys it reads tracked for this client. */
    <T> CompletableFuture<T> eval(LuaScript script, ScriptOutputType type, String[] keys, String... args) {
        return nodeFor(keys[0]).thenCompose((node) -> tracked(node, new ScriptCall<T>(script, type, keys, args,
                TimeUnit.MILLISECONDS.toNanos(this.timeoutMillis), new ScriptCall.Sender() {

                    @Override
                    public <R> CompletableFuture<R> send(AsyncCommand<String, String, R> source) {
                        return tracked(node, source);
                    }
                })));
    }

    /** Reads a key with tracking, so a write to it by another client comes back as an invalidation. */
    CompletableFuture<String> probe(String key) {
        return nodeFor(key).thenCompose((node) -> tracked(node, new AsyncCommand<>(new Command<>(CommandType.GET,
                new ValueOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).addKey(key)))));
    }

    /**
     * {@code CLIENT CACHING yes} and the command in one write, so no other command of this
     * connection comes between them. When the first is refused, tracking is off (a reconnect):
     * the listeners hear that notices may have been missed and tracking is turned on again; the
     * command's own reply is returned either way.
     */
    private <T> CompletableFuture<T> tracked(StatefulRedisConnection<String, String> current,
            AsyncCommand<String, String, T> call) {
        AsyncCommand<String, String, String> caching = new AsyncCommand<>(new Command<>(CommandType.CLIENT,
                new StatusOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).add("CACHING").add("yes")));
        List<RedisCommand<String, String, ?>> batch = new ArrayList<>(2);
        batch.add(caching);
        batch.add(call);
        current.dispatch(batch);
        Timer timer = this.expiryTimer;
        if (timer != null) {
            LettuceRedisAccess.expire(caching, timer, this.timeoutMillis);
            LettuceRedisAccess.expire(call, timer, this.timeoutMillis);
        }
        caching.whenComplete((ok, ex) -> {
            if (ex != null) {
                trackingLost(current, ex);
            }
        });
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
