package io.statefulroute.it;

import java.time.Duration;

import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;

/**
 * A plain core client on its own connection, outside any Spring context: what another
 * gateway sees in Redis.
 */
final class RedisObserver implements AutoCloseable {

    final RedisClient redisClient;

    final RedisStatefulExecutor executor;

    final ServiceStateCache states;

    final StatefulRouteForClientDriver client;

    RedisObserver(RedisServer redis, String keyPrefix, String namespace, Duration podExpiry) {
        this.redisClient = RedisClient.create(redis.uri());
        this.executor = RedisStatefulExecutor.builder()
            .ownedConnection(this.redisClient.connect(StringCodec.UTF8))
            .keyPrefix(keyPrefix)
            .build();
        this.states = new ServiceStateCache(this.executor, podExpiry);
        this.client = new StatefulRouteForClientDriver(this.executor,
                new RouteInfoDriver(this.states, PodSelectionStrategy.LEAST_LOADED.newSelector()),
                new ClientOptions(namespace, Duration.ofSeconds(30), Duration.ofSeconds(10), 1000));
    }

    @Override
    public void close() {
        this.executor.close();
        this.redisClient.shutdown();
    }

}
