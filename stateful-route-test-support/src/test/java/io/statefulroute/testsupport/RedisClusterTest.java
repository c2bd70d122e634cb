package io.statefulroute.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;

class RedisClusterTest {

    @ParameterizedTest(name = "embeddedOnly={0}")
    @ValueSource(booleans = {false, true})
    void formsAClusterThatSurvivesFailover(boolean embeddedOnly) {
        ClusterBuilder builder = RedisServers.cluster();
        if (embeddedOnly) {
            builder.embeddedOnly();
        }
        try (RedisCluster cluster = builder.start()) {
            assertThat(cluster.masters()).hasSize(3);
            assertThat(cluster.replicas()).hasSize(3);
            assertThat(cluster.nodes()).hasSize(6).allMatch(node -> node.startsWith("127.0.0.1:"));
            assertThat(cluster.nodesProperty()).isEqualTo(String.join(",", cluster.nodes()));
            if (embeddedOnly) {
                assertThat(cluster.kind()).isEqualTo("embedded-redis");
                assertThat(cluster.masters().get(0).version()).startsWith("6.2.");
            }

            String key = "user:{42}:pod";
            withCluster(cluster, redis -> {
                redis.set(key, "pod-a");
                assertThat(redis.get(key)).isEqualTo("pod-a");
            });
            int shard = SlotHash.getSlot(key) / 5462;
            RedisServer oldMaster = cluster.masters().get(shard);
            RedisServer replica = cluster.replicas().get(shard);

            RedisServer stopped = cluster.failOverMasterOf(key);

            assertThat(stopped).isSameAs(oldMaster);
            assertThat(stopped.isRunning()).isFalse();
            assertThat(cluster.masters().get(shard)).isSameAs(replica);
            assertThat(cluster.replicas().get(shard)).isSameAs(oldMaster);
            withCluster(cluster, redis -> {
                assertThat(redis.get(key)).isEqualTo("pod-a");
                redis.set(key, "pod-b");
                assertThat(redis.get(key)).isEqualTo("pod-b");
            });

            stopped.start();
            await().atMost(Duration.ofSeconds(15)).until(() -> {
                String info = Resp.callString(stopped.host(), stopped.port(), "INFO", "replication");
                return "slave".equals(Resp.infoField(info, "role"))
                        && "up".equals(Resp.infoField(info, "master_link_status"));
            });
        }
    }

    interface ClusterAction {
        void run(RedisAdvancedClusterCommands<String, String> redis);
    }

    private static void withCluster(RedisCluster cluster, ClusterAction action) {
        List<RedisURI> seeds = cluster.nodes().stream().map(node -> RedisURI.create("redis://" + node)).toList();
        seeds.forEach(uri -> uri.setTimeout(Duration.ofSeconds(5)));
        RedisClusterClient client = RedisClusterClient.create(seeds);
        try (StatefulRedisClusterConnection<String, String> connection = client.connect()) {
            action.run(connection.sync());
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
