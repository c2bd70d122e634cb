package io.statefulroute.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServer;

/**
 * A Lettuce client on a real Redis (standalone or cluster) that hands out executors and
 * reads server counters; closes everything it made.
 */
public final class TestRedis implements AutoCloseable {

    private final AbstractRedisClient client;

    private final RedisServer server;

    private final List<AutoCloseable> opened = new ArrayList<>();

    private AutoCloseable ownedRedis;

    private TestRedis(AbstractRedisClient client, RedisServer server) {
        this.client = client;
        this.server = server;
    }

    public static TestRedis on(RedisServer server) {
        return new TestRedis(RedisClient.create(RedisURI.create(server.host(), server.port())), server);
    }

    /** Connections as an ACL user of the server. */
    public static TestRedis as(RedisServer server, String user, String password) {
        return new TestRedis(RedisClient.create(RedisURI.builder().withHost(server.host()).withPort(server.port())
            .withAuthentication(user, password.toCharArray()).build()), server);
    }

    /** Connections whose client is set to speak RESP2 (Lettuce's default tries RESP3 first). */
    public static TestRedis speakingResp2(RedisServer server) {
        RedisClient client = RedisClient.create(RedisURI.create(server.host(), server.port()));
        client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP2).build());
        return new TestRedis(client, server);
    }

    public static TestRedis on(RedisCluster cluster) {
        List<RedisURI> seeds = cluster.nodes().stream().map((node) -> RedisURI.create("redis://" + node)).toList();
        return new TestRedis(RedisClusterClient.create(seeds), null);
    }

    /** Closes the given server or cluster too, after every connection to it. */
    public TestRedis owning(AutoCloseable redis) {
        this.ownedRedis = redis;
        return this;
    }

    public StatefulConnection<String, String> connect() {
        StatefulConnection<String, String> connection = newConnection();
        this.opened.add(connection);
        return connection;
    }

    private StatefulConnection<String, String> newConnection() {
        return (this.client instanceof RedisClusterClient cluster) ? cluster.connect(StringCodec.UTF8)
                : ((RedisClient) this.client).connect(StringCodec.UTF8);
    }

    public RedisStatefulExecutor executor() {
        return executor(Duration.ofSeconds(2));
    }

    public RedisStatefulExecutor executor(Duration commandTimeout) {
        return executor(RedisStatefulExecutor.builder().commandTimeout(commandTimeout));
    }

    /** An executor that forgets pods and services after {@code podStateRetention}. */
    public RedisStatefulExecutor executor(Duration commandTimeout, Duration podStateRetention) {
        return executor(RedisStatefulExecutor.builder().commandTimeout(commandTimeout).podStateRetention(podStateRetention));
    }

    private RedisStatefulExecutor executor(RedisStatefulExecutor.Builder builder) {
        RedisStatefulExecutor executor = builder.ownedConnection(newConnection())
            .pubSubConnections(this::newPubSubConnection)
            .keyPrefix("test")
            .build();
        this.opened.add(executor);
        return executor;
    }

    /** An executor whose link notices come by client tracking: its link scripts run on a tracking connection of their own. */
    public RedisStatefulExecutor trackingExecutor() {
        RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
            .ownedConnection(newConnection())
            .pubSubConnections(this::newPubSubConnection)
            .trackingConnection(this::newConnection)
            .keyPrefix("test")
            .commandTimeout(Duration.ofSeconds(2))
            .build();
        this.opened.add(executor);
        return executor;
    }

    /**
     * An executor as the starter builds one by default: link notices by client tracking where
     * the server supports it, else on the channel, which link scripts publish on unless
     * {@code publishChanges} is false.
     */
    public RedisStatefulExecutor trackingWhereSupportedExecutor(boolean publishChanges) {
        RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
            .ownedConnection(newConnection())
            .pubSubConnections(this::newPubSubConnection)
            .trackingWhereSupported(this::newConnection)
            .publishChanges(publishChanges)
            .keyPrefix("test")
            .commandTimeout(Duration.ofSeconds(2))
            .build();
        this.opened.add(executor);
        return executor;
    }

    private StatefulRedisPubSubConnection<String, String> newPubSubConnection() {
        return (this.client instanceof RedisClusterClient cluster) ? cluster.connectPubSub(StringCodec.UTF8)
                : ((RedisClient) this.client).connectPubSub(StringCodec.UTF8);
    }

    /** Synchronous commands on a standalone server, for inspecting keys and counters. */
    public io.lettuce.core.api.sync.RedisCommands<String, String> sync() {
        @SuppressWarnings("unchecked")
        StatefulRedisConnection<String, String> connection = (StatefulRedisConnection<String, String>) connect();
        return connection.sync();
    }

    public RedisServer server() {
        return this.server;
    }

    /** A namespace no other test uses, so tests can share one server. */
    public static String freshNamespace() {
        return "ns-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Override
    public void close() {
        for (AutoCloseable closeable : this.opened) {
            try {
                closeable.close();
            }
            catch (Exception ex) {
                // closing a connection to a stopped server may fail; nothing is left to release
            }
        }
        this.client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        if (this.ownedRedis != null) {
            try {
                this.ownedRedis.close();
            }
            catch (Exception ex) {
                throw new IllegalStateException("Cannot stop " + this.ownedRedis, ex);
            }
        }
    }
}
