package io.statefulroute.core.redis;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;

import org.springframework.data.redis.connection.RedisSentinelConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConverters;

/**
 * Opens Lettuce connections on the client of an application's Spring Data Redis
 * {@link LettuceConnectionFactory}, so stateful-route talks to exactly the Redis the
 * application configured (standalone, Sentinel or Cluster, with its SSL, ACL user and
 * timeouts) without creating a client of its own. The caller owns what it opens.
 */
public final class SpringDataRedisConnections {

    private static final Logger logger = LoggerFactory.getLogger(SpringDataRedisConnections.class);

    /** Sentinel's channel for a completed failover: {@code <master> <old ip> <old port> <new ip> <new port>}. */
    private static final String SWITCH_MASTER = "+switch-master";

    private SpringDataRedisConnections() {
    }

    /**
     * Opens a String-codec connection for {@link RedisStatefulExecutor.Builder#ownedConnection}
     * (or {@link RedisStatefulExecutor.Builder#trackingConnection}).
     * @throws IllegalStateException when the factory uses static master/replica, which has no
     * single client to connect through
     */
    public static StatefulConnection<String, String> open(LettuceConnectionFactory connectionFactory) {
        return connect(connectionFactory, (cluster) -> cluster.connect(StringCodec.UTF8),
                (standalone) -> standalone.connect(StringCodec.UTF8));
    }

    /** Opens a String-codec pub/sub connection for {@link RedisStatefulExecutor.Builder#pubSubConnections}. */
    public static StatefulRedisPubSubConnection<String, String> openPubSub(LettuceConnectionFactory connectionFactory) {
        return connect(connectionFactory, (cluster) -> cluster.connectPubSub(StringCodec.UTF8),
                (standalone) -> standalone.connectPubSub(StringCodec.UTF8));
    }

    /**
     * For {@link RedisStatefulExecutor.Builder#primarySwitches}: on Redis Sentinel, listens on
     * every Sentinel for {@code +switch-master} of the configured master and runs
     * {@code onSwitch} for each report (each Sentinel reports a failover once it has adopted
     * it; a connection opened after that finds the new primary). Elsewhere there is nothing to
     * follow. Sentinels that do not answer at start are left out, with a warning.
     * @return stops listening
     */
    public static AutoCloseable followPrimarySwitches(LettuceConnectionFactory connectionFactory, Runnable onSwitch) {
        RedisSentinelConfiguration sentinel = connectionFactory.getSentinelConfiguration();
        if (sentinel == null || sentinel.getMaster() == null
                || !(connectionFactory.getRequiredNativeClient() instanceof RedisClient client)) {
            return () -> {
            };
        }
        String switchOfMaster = sentinel.getMaster().getName() + " ";
        LettuceClientConfiguration settings = connectionFactory.getClientConfiguration();
        List<StatefulRedisPubSubConnection<String, String>> listening = new ArrayList<>();
        for (RedisURI node : LettuceConverters.sentinelConfigurationToRedisURI(sentinel).getSentinels()) {
            node.setSsl(settings.isUseSsl());
            node.setVerifyPeer(settings.getVerifyMode());
            node.setStartTls(settings.isStartTls());
            try {
                StatefulRedisPubSubConnection<String, String> connection = client.connectPubSub(StringCodec.UTF8, node);
                connection.addListener(new RedisPubSubAdapter<>() {
                    @Override
                    public void message(String channel, String message) {
                        if (message.startsWith(switchOfMaster)) {
                            onSwitch.run();
                        }
                    }
                });
                connection.sync().subscribe(SWITCH_MASTER);
                listening.add(connection);
            }
            catch (RedisException ex) {
                logger.warn("Sentinel {}:{} does not answer ({}); primary moves it reports are not followed",
                        node.getHost(), node.getPort(), ex.getMessage());
            }
        }
        return () -> listening.forEach(StatefulRedisPubSubConnection::close);
    }

    private static <C> C connect(LettuceConnectionFactory connectionFactory, Function<RedisClusterClient, C> toCluster,
            Function<RedisClient, C> toStandalone) {
        if (!connectionFactory.isRunning()) {
            connectionFactory.start();
        }
        AbstractRedisClient client = connectionFactory.getRequiredNativeClient();
        try {
            if (client instanceof RedisClusterClient cluster) {
                return toCluster.apply(cluster);
            }
            if (client instanceof RedisClient standalone) {
                return toStandalone.apply(standalone);
            }
        }
        catch (IllegalStateException ex) {
            throw staticMasterReplica(ex);
        }
        throw new IllegalStateException("Unsupported Lettuce client " + client.getClass().getName());
    }

    /** Static master/replica clients are built without a default URI, so there is nothing to connect through. */
    private static IllegalStateException staticMasterReplica(IllegalStateException cause) {
        return new IllegalStateException("Cannot connect through the LettuceConnectionFactory's client (static "
                + "master/replica has no single Redis URI); use standalone, Sentinel or Cluster configuration", cause);
    }
}
