package io.statefulroute.core.redis;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;

import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Opens a Lettuce connection on the client of an application's Spring Data Redis
 * {@link LettuceConnectionFactory}, so stateful-route talks to exactly the Redis the
 * application configured (standalone, Sentinel or Cluster, with its SSL, ACL user and
 * timeouts) without creating a client of its own.
 */
public final class SpringDataRedisConnections {

    private SpringDataRedisConnections() {
    }

    /**
     * Opens a String-codec connection on the factory's native client. The caller owns the
     * connection (hand it to {@link RedisStatefulExecutor.Builder#ownedConnection}).
     * @throws IllegalStateException when the factory is not started or uses static
     * master/replica, which has no single client to connect through
     */
    public static StatefulConnection<String, String> open(LettuceConnectionFactory connectionFactory) {
        if (!connectionFactory.isRunning()) {
            connectionFactory.start();
        }
        AbstractRedisClient client = connectionFactory.getRequiredNativeClient();
        if (client instanceof RedisClusterClient cluster) {
            return cluster.connect(StringCodec.UTF8);
        }
        if (client instanceof RedisClient standalone) {
            try {
                return standalone.connect(StringCodec.UTF8);
            }
            catch (IllegalStateException ex) {
                throw new IllegalStateException("The LettuceConnectionFactory's client has no default Redis URI "
                        + "(static master/replica); use standalone, Sentinel or Cluster configuration", ex);
            }
        }
        throw new IllegalStateException("Unsupported Lettuce client " + client.getClass().getName());
    }

    /**
     * Opens a String-codec pub/sub connection on the factory's native client, for
     * {@link RedisStatefulExecutor.Builder#pubSubConnections}. The caller owns it.
     */
    public static StatefulRedisPubSubConnection<String, String> openPubSub(LettuceConnectionFactory connectionFactory) {
        if (!connectionFactory.isRunning()) {
            connectionFactory.start();
        }
        AbstractRedisClient client = connectionFactory.getRequiredNativeClient();
        if (client instanceof RedisClusterClient cluster) {
            return cluster.connectPubSub(StringCodec.UTF8);
        }
        if (client instanceof RedisClient standalone) {
            return standalone.connectPubSub(StringCodec.UTF8);
        }
        throw new IllegalStateException("Unsupported Lettuce client " + client.getClass().getName());
    }
}
