package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.ValueOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.netty.util.Timeout;
import io.netty.util.Timer;

/**
 * {@link RedisAccess} over one Lettuce connection, standalone or cluster: Lettuce routes
 * each script by its first key, and all keys of a script share one hash slot.
 *
 * <p>The connection is opened at construction; if Redis is down then, calls fail with a
 * connection error and trigger a new attempt in the background (at most one per second),
 * so an application can start before Redis. Once open, Lettuce reconnects by itself; with a
 * {@link Reopener} (a connection opened through a connector), a dropped connection and every
 * dropped subscription are opened again as soon as Redis takes connections, whatever the
 * client's reconnect backoff.
 *
 * <p>Every command ends within the command timeout, by Lettuce's own command expiry (its
 * timer, armed when the command is written, costs no thread hand-off): an owned standalone
 * connection gets the command timeout as its timeout; a connection the caller keeps is used
 * as configured when it already expires commands soon enough. Otherwise, and always on a
 * cluster connection, each command is expired here on the client resources' timer, as
 * Lettuce would.
 */
final class LettuceRedisAccess implements RedisAccess {

    private static final Logger logger = LoggerFactory.getLogger(LettuceRedisAccess.class);

    private static final long RETRY_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

    private static final String[] NO_KEYS = {};

    private final Supplier<? extends StatefulConnection<String, String>> connector;

    private final boolean ownsConnection;

    private final Supplier<StatefulRedisPubSubConnection<String, String>> pubSubConnections;

    private final long timeoutMillis;

    private final long timeoutNanos;

    private final AtomicBoolean connecting = new AtomicBoolean();

    private volatile StatefulConnection<String, String> connection;

    /** Expires commands that the connection's own options would let wait longer; null when none would. */
    private volatile Timer expiryTimer;

    private volatile RedisClusterAsyncCommands<String, String> commands;

    private volatile long nextAttemptNanos;

    private final ScriptCall.Sender dispatcher = this::dispatch;

    /** Stops following moves of the primary; nothing to stop when none are followed. */
    private final AutoCloseable primarySwitches;

    /** Opens dropped connections again at once; null when the connection cannot be opened anew. */
    private final Reopener reopener;

    /**
     * @param connector opens the connection (called again until it succeeds)
     * @param ownsConnection whether {@link #close()} closes the connection
     * @param pubSubConnections opens a dedicated pub/sub connection per subscription, or
     * null when the caller offers none (link change notices are then unavailable)
     * @param commandTimeout the longest any command may take before it fails
     * @param primarySwitches follows moves of the primary: called once with what to run on
     * each, returns what stops following; null when there is nothing to follow
     * @param reopener opens the connection and subscriptions again when they drop; null when
     * {@code connector} gives the same connection every time
     */
    LettuceRedisAccess(Supplier<? extends StatefulConnection<String, String>> connector, boolean ownsConnection,
            Supplier<StatefulRedisPubSubConnection<String, String>> pubSubConnections, Duration commandTimeout,
            Function<Runnable, AutoCloseable> primarySwitches, Reopener reopener) {
        this.connector = connector;
        this.ownsConnection = ownsConnection;
        this.pubSubConnections = pubSubConnections;
        this.timeoutMillis = commandTimeout.toMillis();
        this.timeoutNanos = commandTimeout.toNanos();
        this.reopener = reopener;
        connect();
        this.primarySwitches = (primarySwitches != null && ownsConnection)
                ? primarySwitches.apply(this::reconnectInBackground) : () -> {
                };
        if (reopener != null) {
            reopener.watch(new Reopener.Watched() {

                @Override
                public boolean isDown() {
                    StatefulConnection<String, String> current = LettuceRedisAccess.this.connection;
                    // a cluster connection stays open and follows its nodes itself
                    return current != null && !(current instanceof StatefulRedisClusterConnection<?, ?>)
                            && !current.isOpen();
                }

                @Override
                public void reopen() {
                    StatefulConnection<String, String> dropped = LettuceRedisAccess.this.connection;
                    install(LettuceRedisAccess.this.connector.get());
                    // what waits on the dropped one fails now rather than at its timeout
                    dropped.closeAsync();
                    logger.info("Redis takes connections again: reopened the connection without waiting for the "
                            + "client's reconnect backoff");
                }
            });
        }
    }

    /**
     * The primary moved (a Sentinel failover). The connection would keep writing to the old
     * primary until Sentinel reconfigures it, about 10 s after the failover of a running
     * primary, and those writes are lost when it resyncs; so a new connection is opened at
     * once, new commands go there, and the old one is closed once its commands have had their
     * command timeout to end. Runs off the caller's thread: connecting blocks, and moves are
     * reported on a Lettuce event loop.
     */
    private void reconnectInBackground() {
        CompletableFuture.runAsync(() -> {
            StatefulConnection<String, String> old = this.connection;
            connect();
            StatefulConnection<String, String> current = this.connection;
            if (old != null && current != old) {
                logger.info("Redis primary moved: new commands go to a new connection");
                closeLater(old, this.timeoutMillis);
            }
        });
    }

    private void connect() {
        try {
            install(this.connector.get());
            if (this.nextAttemptNanos != 0) {
                logger.info("Connected to Redis");
            }
        }
        catch (RedisException ex) {
            logger.warn("Cannot connect to Redis yet ({}); calls fail until a background attempt succeeds",
                    ex.getMessage());
            this.nextAttemptNanos = System.nanoTime() + RETRY_INTERVAL_NANOS;
        }
    }

    /** New commands go to this connection from now on. */
    private void install(StatefulConnection<String, String> opened) {
        this.expiryTimer = expiryTimer(opened, this.ownsConnection, this.timeoutMillis);
        this.commands = asyncCommands(opened);
        this.connection = opened;
    }

    /**
     * Null when Lettuce expires every command of the connection within the command timeout
     * (its {@link TimeoutOptions} apply the connection's timeout, which an owned connection
     * is given here); else the timer to expire commands on.
     */
    static Timer expiryTimer(StatefulConnection<String, String> opened, boolean owned, long timeoutMillis) {
        if (opened instanceof StatefulRedisClusterConnection<?, ?>) {
            // A cluster connection's timeout does not reach its nodes: each node connection
            // expires commands by the client's own timeout (60 s unless configured), so a
            // command queued for a node that went away would outlive the command timeout.
            return opened.getResources().timer();
        }
        TimeoutOptions timeouts = opened.getOptions().getTimeoutOptions();
        if (timeouts.isTimeoutCommands() && timeouts.isApplyConnectionTimeout()) {
            if (owned && opened.getTimeout().toMillis() > timeoutMillis) {
                opened.setTimeout(Duration.ofMillis(timeoutMillis));
            }
            long connectionTimeout = opened.getTimeout().toMillis();
            if (connectionTimeout > 0 && connectionTimeout <= timeoutMillis) {
                return null;
            }
        }
        return opened.getResources().timer();
    }

    /** Fails the command when it has not ended within the command timeout, unless Lettuce already does. */
    private <T> CompletableFuture<T> expiring(CompletableFuture<T> command) {
        Timer timer = this.expiryTimer;
        if (timer != null) {
            expire(command, timer, this.timeoutMillis);
        }
        return command;
    }

    /** Closes a connection that was replaced once the commands already on it have had their time. */
    static void closeLater(StatefulConnection<String, String> replaced, long afterMillis) {
        replaced.getResources().timer().newTimeout((timeout) -> replaced.closeAsync(), afterMillis,
                TimeUnit.MILLISECONDS);
    }

    static void expire(CompletableFuture<?> command, Timer timer, long afterMillis) {
        Timeout timeout = timer.newTimeout((t) -> command.completeExceptionally(
                new RedisCommandTimeoutException("Command timed out after " + afterMillis + " ms")),
                afterMillis, TimeUnit.MILLISECONDS);
        command.whenComplete((value, ex) -> timeout.cancel());
    }

    /** The commands, or null while not connected (then a background attempt is started). */
    private RedisClusterAsyncCommands<String, String> commands() {
        RedisClusterAsyncCommands<String, String> current = this.commands;
        if (current == null && System.nanoTime() - this.nextAttemptNanos >= 0
                && this.connecting.compareAndSet(false, true)) {
            CompletableFuture.runAsync(() -> {
                try {
                    connect();
                }
                finally {
                    this.connecting.set(false);
                }
            });
        }
        return current;
    }

    private static <T> CompletableFuture<T> notConnected() {
        return CompletableFuture.failedFuture(new RedisConnectionException("Not connected to Redis yet"));
    }

    @SuppressWarnings("unchecked")
    private static RedisClusterAsyncCommands<String, String> asyncCommands(StatefulConnection<String, String> connection) {
        if (connection instanceof StatefulRedisClusterConnection<?, ?> cluster) {
            return ((StatefulRedisClusterConnection<String, String>) cluster).async();
        }
        if (connection instanceof StatefulRedisConnection<?, ?> standalone) {
            return ((StatefulRedisConnection<String, String>) standalone).async();
        }
        throw new IllegalArgumentException("Unsupported Lettuce connection " + connection.getClass().getName()
                + ": use a StatefulRedisConnection or a StatefulRedisClusterConnection");
    }

    @Override
    public <T> CompletableFuture<T> eval(LuaScript script, ScriptOutputType type, String[] keys, String... args) {
        if (commands() == null) {
            return notConnected();
        }
        return expiring(dispatch(new ScriptCall<>(script, type, keys, args, this.timeoutNanos, this.dispatcher)));
    }

    @Override
    public CompletableFuture<List<List<Object>>> evalOnEveryPrimary(LuaScript script) {
        StatefulConnection<String, String> current = this.connection;
        if (commands() == null || current == null) {
            return notConnected();
        }
        if (!(current instanceof StatefulRedisClusterConnection<String, String> cluster)) {
            return this.<List<Object>>eval(script, ScriptOutputType.MULTI, NO_KEYS).thenApply(List::of);
        }
        List<CompletableFuture<List<Object>>> replies = new ArrayList<>();
        for (RedisClusterNode node : cluster.getPartitions()) {
            if (node.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
                replies.add(expiring(cluster.getConnectionAsync(node.getNodeId()).thenCompose((primary) -> {
                    ScriptCall<List<Object>> call = new ScriptCall<>(script, ScriptOutputType.MULTI, NO_KEYS, NO_KEYS,
                            this.timeoutNanos, new ScriptCall.Sender() {

                                @Override
                                public <R> CompletableFuture<R> send(AsyncCommand<String, String, R> source) {
                                    primary.dispatch(source);
                                    return source;
                                }
                            });
                    primary.dispatch(call);
                    return call;
                })));
            }
        }
        return CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new))
            .thenApply((done) -> replies.stream().map(CompletableFuture::join).toList());
    }

    /** Sends a command on the current connection (a NOSCRIPT fallback goes where new commands go). */
    private <T> CompletableFuture<T> dispatch(AsyncCommand<String, String, T> command) {
        StatefulConnection<String, String> current = this.connection;
        if (current == null) {
            return notConnected();
        }
        current.dispatch(command);
        return command;
    }

    @Override
    public CompletableFuture<String> get(String key) {
        RedisClusterAsyncCommands<String, String> redis = commands();
        return (redis != null) ? expiring(redis.get(key).toCompletableFuture()) : notConnected();
    }

    /**
     * Writes every GET and flushes once ({@code dispatch} of a collection), instead of one
     * flush per command; safe on a shared connection, and a cluster connection still routes
     * each command to its slot's node.
     */
    @Override
    public List<CompletableFuture<String>> get(List<String> keys) {
        StatefulConnection<String, String> current = this.connection;
        List<CompletableFuture<String>> replies = new ArrayList<>(keys.size());
        if (commands() == null || current == null) {
            keys.forEach((key) -> replies.add(notConnected()));
            return replies;
        }
        List<AsyncCommand<String, String, String>> batch = new ArrayList<>(keys.size());
        for (String key : keys) {
            AsyncCommand<String, String, String> command = new AsyncCommand<>(new Command<>(CommandType.GET,
                    new ValueOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).addKey(key)));
            batch.add(command);
            replies.add(expiring(command));
        }
        current.dispatch(batch);
        return replies;
    }

    @Override
    public CompletableFuture<List<String>> getAtomically(List<String> keys) {
        RedisClusterAsyncCommands<String, String> redis = commands();
        return (redis != null) ? expiring(redis.mget(keys.toArray(String[]::new)).toCompletableFuture())
                .thenApply((values) -> values.stream().map((value) -> value.getValueOrElse(null)).toList())
                : notConnected();
    }

    @Override
    public CompletableFuture<List<String>> sortedSetMembers(String key) {
        RedisClusterAsyncCommands<String, String> redis = commands();
        return (redis != null) ? expiring(redis.zrange(key, 0, -1).toCompletableFuture()) : notConnected();
    }

    @Override
    public CompletableFuture<String> setExpiring(String key, String value, long millis) {
        RedisClusterAsyncCommands<String, String> redis = commands();
        return (redis != null)
                ? expiring(redis.set(key, value, io.lettuce.core.SetArgs.Builder.px(millis)).toCompletableFuture())
                : notConnected();
    }

    @Override
    public CompletableFuture<Long> publish(String channel, String message) {
        RedisClusterAsyncCommands<String, String> redis = commands();
        return (redis != null) ? expiring(redis.publish(channel, message).toCompletableFuture()) : notConnected();
    }

    @Override
    public AutoCloseable subscribe(String channel, Consumer<String> onMessage, Runnable onSubscribed) {
        if (this.pubSubConnections == null) {
            throw new IllegalStateException("No pub/sub connection was given to the executor: "
                    + "link change notices need RedisStatefulExecutor.Builder#pubSubConnections");
        }
        Subscription subscription = new Subscription(channel, new RedisPubSubAdapter<>() {

            @Override
            public void message(String from, String message) {
                onMessage.accept(message);
            }

            @Override
            public void subscribed(String subscribedChannel, long count) {
                onSubscribed.run();
            }
        });
        subscription.open();
        AutoCloseable watching = (this.reopener != null) ? this.reopener.watch(subscription) : () -> {
        };
        return () -> {
            watching.close();
            subscription.close();
        };
    }

    /** One channel on a pub/sub connection of its own, opened again in place of a dropped one. */
    private final class Subscription implements Reopener.Watched {

        private final String channel;

        private final RedisPubSubAdapter<String, String> listener;

        private volatile StatefulRedisPubSubConnection<String, String> pubSub;

        private volatile boolean closed;

        Subscription(String channel, RedisPubSubAdapter<String, String> listener) {
            this.channel = channel;
            this.listener = listener;
        }

        void open() {
            StatefulRedisPubSubConnection<String, String> opened = LettuceRedisAccess.this.pubSubConnections.get();
            opened.addListener(this.listener);
            opened.sync().subscribe(this.channel);
            this.pubSub = opened;
            if (this.closed) {
                opened.closeAsync();
            }
        }

        @Override
        public boolean isDown() {
            StatefulRedisPubSubConnection<String, String> current = this.pubSub;
            return !this.closed && current != null && !current.isOpen();
        }

        @Override
        public void reopen() {
            StatefulRedisPubSubConnection<String, String> dropped = this.pubSub;
            open();
            dropped.closeAsync();
            logger.info("Redis takes connections again: resubscribed to {} without waiting for the client's "
                    + "reconnect backoff", this.channel);
        }

        void close() {
            this.closed = true;
            StatefulRedisPubSubConnection<String, String> current = this.pubSub;
            if (current != null) {
                current.close();
            }
        }
    }

    @Override
    public void close() {
        try {
            this.primarySwitches.close();
        }
        catch (Exception ex) {
            logger.warn("Could not stop following the Redis primary", ex);
        }
        StatefulConnection<String, String> current = this.connection;
        // the application's client may have closed it already (Spring stops its factory first)
        if (this.ownsConnection && current != null && current.isOpen()) {
            current.close();
        }
    }
}
