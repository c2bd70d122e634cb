package io.statefulroute.core.redis;

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
        AbstractRedisClient client = nativeClient(connectionFactory);
        try {
            return (client instanceof RedisClusterClient cluster) ? cluster.connect(StringCodec.UTF8)
                    : ((RedisClient) client).connect(StringCodec.UTF8);
        }
        catch (IllegalStateException ex) {
            throw staticMasterReplica(ex);
        }
    }

    /** Opens a String-codec pub/sub connection for {@link RedisStatefulExecutor.Builder#pubSubConnections}. */
    public static StatefulRedisPubSubConnection<String, String> openPubSub(LettuceConnectionFactory connectionFactory) {
        AbstractRedisClient client = nativeClient(connectionFactory);
        try {
            return (client instanceof RedisClusterClient cluster) ? cluster.connectPubSub(StringCodec.UTF8)
                    : ((RedisClient) client).connectPubSub(StringCodec.UTF8);
        }
        catch (IllegalStateException ex) {
            throw staticMasterReplica(ex);
        }
    }

    private static AbstractRedisClient nativeClient(LettuceConnectionFactory connectionFactory) {
        if (!connectionFactory.isRunning()) {
            connectionFactory.start();
        }
        AbstractRedisClient client = connectionFactory.getRequiredNativeClient();
        if (client instanceof RedisClusterClient || client instanceof RedisClient) {
            return client;
        }
        throw new IllegalStateException("Unsupported Lettuce client " + client.getClass().getName());
    }

    /** Static master/replica clients are built without a default URI, so there is nothing to connect through. */
    private static IllegalStateException staticMasterReplica(IllegalStateException cause) {
        return new IllegalStateException("Cannot connect through the LettuceConnectionFactory's client (static "
                + "master/replica has no single Redis URI); use standalone, Sentinel or Cluster configuration", cause);
    }
}
