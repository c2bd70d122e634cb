package io.statefulroute.core.redis;

import java.util.concurrent.CompletableFuture;

import io.lettuce.core.ScriptOutputType;

/**
 * The few Redis commands stateful-route needs, so the executor does not depend on how the
 * connection was made (standalone, Sentinel, Cluster; plain Lettuce or Spring Data Redis).
 */
interface RedisAccess extends AutoCloseable {

    /** Runs the script by SHA, sending its source once when Redis does not know it (restart, flush, new node). */
    <T> CompletableFuture<T> eval(LuaScript script, ScriptOutputType type, String[] keys, String... args);

    CompletableFuture<String> get(String key);

    CompletableFuture<String> hget(String key, String field);

    CompletableFuture<Long> serverTimeMillis();

    @Override
    void close();
}
