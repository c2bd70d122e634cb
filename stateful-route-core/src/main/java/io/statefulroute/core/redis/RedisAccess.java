package io.statefulroute.core.redis;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import io.lettuce.core.ScriptOutputType;

/**
 * The few Redis commands stateful-route needs, so the executor does not depend on how the
 * connection was made (standalone, Sentinel, Cluster; plain Lettuce or Spring Data Redis).
 */
interface RedisAccess extends AutoCloseable {

    /** Runs the script by SHA, sending its source once when Redis does not know it (restart, flush, new node). */
    <T> CompletableFuture<T> eval(LuaScript script, ScriptOutputType type, String[] keys, String... args);

    /**
     * Runs a script without keys on the server (on a cluster: on every primary the connection
     * knows of), each reply in turn; one failure fails the whole.
     */
    CompletableFuture<List<List<Object>>> evalOnEveryPrimary(LuaScript script);

    CompletableFuture<String> get(String key);

    /** Many keys of any slots, pipelined in one write: one reply per key, in order. */
    List<CompletableFuture<String>> get(List<String> keys);

    /** Keys of one hash slot, read in one atomic {@code MGET}: one value (or null) per key, in order. */
    CompletableFuture<List<String>> getAtomically(List<String> keys);

    /** Every member of a sorted set, lowest score first. */
    CompletableFuture<List<String>> sortedSetMembers(String key);

    CompletableFuture<Long> publish(String channel, String message);

    /** Sets a string that expires after {@code millis}. */
    CompletableFuture<String> setExpiring(String key, String value, long millis);

    /**
     * Subscribes to a channel on a dedicated connection that resubscribes by itself after a
     * reconnect; {@code onSubscribed} runs on every (re)subscription.
     * @return closes the subscription
     */
    AutoCloseable subscribe(String channel, Consumer<String> onMessage, Runnable onSubscribed);

    @Override
    void close();
}
