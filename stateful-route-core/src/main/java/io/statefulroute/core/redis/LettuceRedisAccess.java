package io.statefulroute.core.redis;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;

/**
 * {@link RedisAccess} over one Lettuce connection, standalone or cluster: Lettuce routes
 * each script by its first key, and all keys of a script share one hash slot.
 */
final class LettuceRedisAccess implements RedisAccess {

    private final StatefulConnection<String, String> connection;

    private final RedisClusterAsyncCommands<String, String> commands;

    private final boolean ownsConnection;

    private final Supplier<StatefulRedisPubSubConnection<String, String>> pubSubConnections;

    /**
     * @param pubSubConnections opens a dedicated pub/sub connection per subscription, or
     * null when the caller offers none (link change notices are then unavailable)
     */
    LettuceRedisAccess(StatefulConnection<String, String> connection, boolean ownsConnection,
            Supplier<StatefulRedisPubSubConnection<String, String>> pubSubConnections) {
        this.connection = connection;
        this.commands = asyncCommands(connection);
        this.ownsConnection = ownsConnection;
        this.pubSubConnections = pubSubConnections;
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
        CompletableFuture<T> bySha = this.commands.<T>evalsha(script.sha(), type, keys, args).toCompletableFuture();
        return bySha.exceptionallyCompose((ex) -> isNoScript(ex)
                ? this.commands.<T>eval(script.source(), type, keys, args).toCompletableFuture()
                : CompletableFuture.failedFuture(ex));
    }

    private static boolean isNoScript(Throwable ex) {
        Throwable cause = (ex.getCause() != null && !(ex instanceof RedisNoScriptException)) ? ex.getCause() : ex;
        return cause instanceof RedisNoScriptException
                || (cause.getMessage() != null && cause.getMessage().startsWith("NOSCRIPT"));
    }

    @Override
    public CompletableFuture<String> get(String key) {
        return this.commands.get(key).toCompletableFuture();
    }

    @Override
    public CompletableFuture<String> hget(String key, String field) {
        return this.commands.hget(key, field).toCompletableFuture();
    }

    @Override
    public CompletableFuture<Long> serverTimeMillis() {
        return this.commands.time().toCompletableFuture().thenApply(LettuceRedisAccess::toMillis);
    }

    private static long toMillis(List<String> time) {
        return Long.parseLong(time.get(0)) * 1000 + Long.parseLong(time.get(1)) / 1000;
    }

    @Override
    public CompletableFuture<Long> publish(String channel, String message) {
        return this.commands.publish(channel, message).toCompletableFuture();
    }

    @Override
    public AutoCloseable subscribe(String channel, Consumer<String> onMessage, Runnable onSubscribed) {
        if (this.pubSubConnections == null) {
            throw new IllegalStateException("No pub/sub connection was given to the executor: "
                    + "link change notices need RedisStatefulExecutor.Builder#pubSubConnections");
        }
        StatefulRedisPubSubConnection<String, String> pubSub = this.pubSubConnections.get();
        pubSub.addListener(new RedisPubSubAdapter<>() {

            @Override
            public void message(String from, String message) {
                onMessage.accept(message);
            }

            @Override
            public void subscribed(String subscribedChannel, long count) {
                onSubscribed.run();
            }
        });
        pubSub.sync().subscribe(channel);
        return pubSub::close;
    }

    @Override
    public void close() {
        if (this.ownsConnection) {
            this.connection.close();
        }
    }
}
