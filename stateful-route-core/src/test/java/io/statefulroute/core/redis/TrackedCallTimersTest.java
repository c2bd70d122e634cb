package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.netty.util.HashedWheelTimer;
import io.statefulroute.core.TrackingClients;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Lettuce's command expiry (on by default) arms a timer for every command a connection writes
 * and cancels it when the command completes, if it can be told of that (an {@code AsyncCommand};
 * a plain {@code Command} is never told). This checks that answered tracked link calls leave no
 * timer behind on the client's own timer wheel, where each would hold its command for the whole
 * command timeout: memory and timer work in proportion to new users per second. A plain
 * {@code CLIENT CACHING yes} written before each script once did just that.
 */
class TrackedCallTimersTest {

    private static final int CALLS = 2_000;

    private RedisServer server;

    private HashedWheelTimer timer;

    private ClientResources resources;

    private RedisClient client;

    private RedisStatefulExecutor executor;

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.timer = new HashedWheelTimer();
        this.resources = DefaultClientResources.builder().timer(this.timer).build();
        this.client = RedisClient.create(this.resources, RedisURI.builder().withHost(this.server.host())
            .withPort(this.server.port()).withTimeout(Duration.ofSeconds(60)).build());
        // Lettuce's default, spelt out: every command expires after the connection's timeout
        this.client.setOptions(ClientOptions.builder().timeoutOptions(TimeoutOptions.enabled()).build());
        this.executor = RedisStatefulExecutor.builder()
            .ownedConnection(this.client.connect(StringCodec.UTF8))
            .pubSubConnections(() -> this.client.connectPubSub(StringCodec.UTF8))
            .trackingConnection(() -> this.client.connect(StringCodec.UTF8))
            .keyPrefix("test")
            .commandTimeout(Duration.ofSeconds(60))
            .build();
    }

    @AfterEach
    void stop() {
        this.executor.close();
        this.client.shutdown();
        this.resources.shutdown();
        this.server.close();
    }

    @Test
    void answeredTrackedCallsLeaveNoCommandOnTheClientsTimer() {
        assertThat(TrackingClients.count(this.client.connect(StringCodec.UTF8).sync()))
            .as("connections with CLIENT TRACKING on").isEqualTo(1);
        CompletableFuture<?>[] calls = new CompletableFuture<?>[CALLS];
        for (int i = 0; i < CALLS; i++) {
            calls[i] = this.executor.setLinkedPodIfAbsentAsync("ns", "user-" + i, "chat", i % 3, 300);
        }
        CompletableFuture.allOf(calls).join();
        assertThat(this.executor.getLinkedPod("ns", "user-" + (CALLS - 1), "chat")).hasValue((CALLS - 1) % 3);

        // the wheel drops a cancelled timer at its next tick (100 ms); without the cancel, every
        // call would stay pending for the 60 s command timeout
        await().atMost(Duration.ofSeconds(10)).untilAsserted(
                () -> assertThat(this.timer.pendingTimeouts()).as("timers pending on the client's wheel")
                    .isLessThan(CALLS / 20));
    }
}
