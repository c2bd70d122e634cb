package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.statefulroute.core.Notices;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The application's Lettuce client waits a minute between reconnect attempts (as its default
 * backoff does, doubling, after a long outage): an executor opened through a connector still
 * comes back as soon as Redis takes connections, its command connection, its link change
 * subscription and (with tracking) its tracking connection, and nobody changed the client.
 */
class ReopenAfterOutageTest {

    @ParameterizedTest(name = "tracking {0}")
    @ValueSource(booleans = { false, true })
    void theExecutorsConnectionsComeBackAsSoonAsRedisDoes(boolean tracking) {
        ClientResources slowToReconnect = ClientResources.builder()
            .reconnectDelay(Delay.constant(Duration.ofMinutes(1)))
            .build();
        try (RedisServer server = RedisServers.standalone().start(); TestRedis other = TestRedis.on(server)) {
            RedisClient client = RedisClient.create(slowToReconnect, RedisURI.create(server.host(), server.port()));
            client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
            RedisStatefulExecutor.Builder builder = RedisStatefulExecutor.builder()
                .connector(() -> client.connect(StringCodec.UTF8))
                .pubSubConnections(() -> client.connectPubSub(StringCodec.UTF8))
                .keyPrefix("test")
                .commandTimeout(Duration.ofMillis(500));
            if (tracking) {
                builder.trackingConnection(() -> client.connect(StringCodec.UTF8));
            }
            try (RedisStatefulExecutor executor = builder.build()) {
                StatefulExecutor writer = other.executor();
                AtomicInteger subscriptions = new AtomicInteger();
                Set<String> heard = ConcurrentHashMap.newKeySet();
                executor.subscribeLinkChanges(Notices.uids(heard::add, subscriptions::incrementAndGet));
                executor.setServiceState("ns", "chat", 0, RoutingState.READY, 0);
                int subscribedBefore = subscriptions.get();

                server.stop();
                assertThat(executor.heartbeatAsync("ns", "chat", 0, RoutingState.READY, 0, null, null))
                    .failsWithin(Duration.ofSeconds(5));
                server.start();

                await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
                    .until(() -> executor.heartbeatAsync("ns", "chat", 0, RoutingState.READY, 0, null, null)
                        .join() > 0);
                await().atMost(Duration.ofSeconds(10)).until(() -> subscriptions.get() > subscribedBefore);
                // a user this executor reads (tracking tells only of those), then another writer moves it
                await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
                    executor.setLinkedPod("ns", "moved", "chat", 1, RouteArguments.PERSIST_FOREVER);
                    executor.getLinkedPod("ns", "moved", "chat");
                    writer.setLinkedPod("ns", "moved", "chat", 2, RouteArguments.PERSIST_FOREVER);
                    return heard.contains("moved");
                });
            }
            finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
                slowToReconnect.shutdown();
            }
        }
    }
}
