package io.statefulroute.core.redis;

import java.util.function.Function;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;

import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Opens Lettuce connections on the client of an application's Spring Data Redis
 * {@link LettuceConnectionFactory}, so stateful-route talks to exactly the Redis the
 * application configured (standalone, Sentinel or Cluster, with its SSL, ACL user and
 * timeouts) without creating a client of its own. The caller owns what it opens.
 */
public final class SpringDataRedisConnections {

    private SpringDataRedisConnections() {
    }

    /**
     * Opens a String-codec connection for {@link RedisStatefulExecutor.Builder#ownedConnection}.
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
