package io.statefulroute.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

class StandaloneRedisTest {

    @Test
    void startsStopsAndRestartsOnTheSamePortKeepingAofData() {
        try (RedisServer server = RedisServers.standalone().args("--appendonly", "yes").start()) {
            assertThat(server.host()).isEqualTo("127.0.0.1");
            assertThat(server.port()).isNotEqualTo(6379).isLessThanOrEqualTo(55535);
            assertThat(server.uri()).isEqualTo("redis://127.0.0.1:" + server.port());
            assertThat(server.kind()).isIn("testcontainers", "redis-server", "embedded-redis");
            assertThat(server.version()).matches("\\d+\\.\\d+\\.\\d+");
            assertThat(server.isRunning()).isTrue();
            int port = server.port();

            withRedis(server, redis -> {
                assertThat(redis.ping()).isEqualTo("PONG");
                assertThat(redis.configGet("appendonly")).containsEntry("appendonly", "yes");
                redis.set("survives", "restart");
            });

            server.stop();
            assertThat(server.isRunning()).isFalse();
            assertThat(Resp.ping(server.host(), port)).isFalse();
            server.stop(); // idempotent

            server.start();
            assertThat(server.isRunning()).isTrue();
            assertThat(server.port()).isEqualTo(port);
            withRedis(server, redis -> assertThat(redis.get("survives")).isEqualTo("restart"));

            server.close();
            assertThat(server.isRunning()).isFalse();
            assertThatThrownBy(server::start).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void defaultsToNoPersistence() {
        try (RedisServer server = RedisServers.standalone().start()) {
            withRedis(server, redis -> {
                assertThat(redis.configGet("appendonly")).containsEntry("appendonly", "no");
                assertThat(redis.configGet("save")).containsEntry("save", "");
            });
        }
    }

    @Test
    void embeddedOnlyRunsTheBundledRedis62() {
        try (RedisServer server = RedisServers.standalone().embeddedOnly().start()) {
            assertThat(server.kind()).isEqualTo("embedded-redis");
            assertThat(server.version()).startsWith("6.2.");
            withRedis(server, redis -> {
                redis.set("k", "v");
                assertThat(redis.get("k")).isEqualTo("v");
            });
        }
    }

    @Test
    void failsWithTheServerLogWhenRedisCannotStart() {
        assertThatThrownBy(() -> RedisServers.standalone().args("--no-such-directive", "x").start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no-such-directive");
    }

    @Test
    void sharedServerIsOneInstanceThatTestsCannotStop() {
        RedisServer shared = RedisServers.shared();
        assertThat(RedisServers.shared()).isSameAs(shared);
        assertThat(shared.isRunning()).isTrue();
        withRedis(shared, redis -> assertThat(redis.ping()).isEqualTo("PONG"));
        assertThatThrownBy(shared::stop).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(shared::close).isInstanceOf(UnsupportedOperationException.class);
        assertThat(shared.isRunning()).isTrue();
    }

    interface RedisAction {
        void run(RedisCommands<String, String> redis);
    }

    static void withRedis(RedisServer server, RedisAction action) {
        RedisURI uri = RedisURI.create(server.uri());
        uri.setTimeout(Duration.ofSeconds(5));
        RedisClient client = RedisClient.create(uri);
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            action.run(connection.sync());
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
