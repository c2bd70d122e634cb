package io.statefulroute.core.redis;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.springframework.data.redis.connection.RedisClusterConfiguration;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import io.statefulroute.core.RouteArguments;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;

/** The executor on connections opened through an application's own Spring Data Redis factory. */
class SpringDataRedisConnectionsTest {

    @Test
    void standaloneFactory() {
        RedisServer server = RedisServers.shared();
        LettuceConnectionFactory factory = new LettuceConnectionFactory(
                new RedisStandaloneConfiguration(server.host(), server.port()));
        factory.afterPropertiesSet();
        try (RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
            .ownedConnection(SpringDataRedisConnections.open(factory))
            .build()) {
            executor.setLinkedPod("spring", "u1", "chat", 3, RouteArguments.PERSIST_FOREVER);
            assertThat(executor.getLinkedPod("spring", "u1", "chat")).hasValue(3);
        }
        finally {
            factory.destroy();
        }
    }

    @Test
    void clusterFactory() {
        try (RedisCluster cluster = RedisServers.cluster().start()) {
            LettuceConnectionFactory factory = new LettuceConnectionFactory(
                    new RedisClusterConfiguration(cluster.nodes()));
            factory.afterPropertiesSet();
            try (RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
                .ownedConnection(SpringDataRedisConnections.open(factory))
                .build()) {
                for (int i = 0; i < 20; i++) {
                    executor.setLinkedPod("spring", "user-" + i, "chat", i, RouteArguments.PERSIST_FOREVER);
                }
                assertThat(executor.batchGetLinkedPod("spring", List.of("user-0", "user-7", "user-19"), "chat"))
                    .containsOnlyKeys(0, 7, 19);
            }
            finally {
                factory.destroy();
            }
        }
    }
}
