package io.statefulroute.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;

class RedisSentinelTest {

    @ParameterizedTest(name = "embeddedOnly={0}")
    @ValueSource(booleans = {false, true})
    void sentinelsHandClientsTheMasterBeforeAndAfterAFailover(boolean embeddedOnly) throws Exception {
        SentinelBuilder builder = RedisServers.sentinel();
        if (embeddedOnly) {
            builder.embeddedOnly();
        }
        try (RedisSentinel sentinel = builder.start()) {
            assertThat(sentinel.sentinels()).hasSize(3);
            assertThat(sentinel.sentinelNodesProperty().split(",")).hasSize(3).allMatch(n -> n.startsWith("127.0.0.1:"));
            if (embeddedOnly) {
                assertThat(sentinel.kind()).isEqualTo("embedded-redis");
            }
            RedisServer oldMaster = sentinel.master();
            RedisServer replica = sentinel.replica();
            assertThat(masterPortThroughSentinels(sentinel, "pod-a")).isEqualTo(oldMaster.port());

            RedisServer newMaster = sentinel.failOver();

            assertThat(newMaster).isSameAs(replica);
            assertThat(sentinel.master()).isSameAs(replica);
            assertThat(sentinel.replica()).isSameAs(oldMaster);
            assertThat(Resp.callString(newMaster.host(), newMaster.port(), "GET", "user:42")).isEqualTo("pod-a");
            assertThat(masterPortThroughSentinels(sentinel, "pod-b")).isEqualTo(newMaster.port());
        }
    }

    /** Writes through a client that finds the master by asking the Sentinels; returns the master's port. */
    private static int masterPortThroughSentinels(RedisSentinel sentinel, String value) {
        RedisURI.Builder uri = RedisURI.builder().withTimeout(Duration.ofSeconds(5));
        for (RedisServer node : sentinel.sentinels()) {
            uri.withSentinel(node.host(), node.port());
        }
        RedisClient client = RedisClient.create(uri.withSentinelMasterId(sentinel.masterName()).build());
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            connection.sync().set("user:42", value);
            return Integer.parseInt(Resp.infoField(connection.sync().info("server"), "tcp_port"));
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
