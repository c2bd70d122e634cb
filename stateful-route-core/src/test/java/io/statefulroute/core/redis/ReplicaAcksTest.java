package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.statefulroute.core.Notices;
import io.statefulroute.core.ReplicaAcknowledgementException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Fenced writes with replica acknowledgement on a primary and its replica: a write answered
 * as done is on the replica already; one the replica does not confirm in time fails with the
 * typed error, applied on the primary; unfenced calls (a gateway's new user) never wait.
 */
class ReplicaAcksTest {

    private static final Duration ACK_TIMEOUT = Duration.ofMillis(300);

    private static final WriteFence FAR = new WriteFence(Long.MAX_VALUE / 2);

    private RedisServer primary;

    private RedisServer replica;

    private RedisClient client;

    private StatefulRedisConnection<String, String> onReplica;

    @BeforeEach
    void start() {
        this.primary = RedisServers.standalone().args("--repl-diskless-sync-delay", "0").start();
        this.replica = RedisServers.standalone()
            .args("--repl-diskless-sync-delay", "0", "--replicaof", this.primary.host(), Integer.toString(this.primary.port()))
            .start();
        this.client = RedisClient.create(RedisURI.create(this.primary.host(), this.primary.port()));
        this.client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
        this.onReplica = RedisClient.create(RedisURI.create(this.replica.host(), this.replica.port()))
            .connect(StringCodec.UTF8);
        // a replica acknowledges writes once it has loaded what it synced, a moment after its link is up
        StatefulRedisConnection<String, String> onPrimary = this.client.connect(StringCodec.UTF8);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            onPrimary.sync().set("synced", "1");
            return onPrimary.sync().waitForReplication(1, 100) == 1;
        });
        onPrimary.close();
    }

    @AfterEach
    void stop() {
        this.client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        this.replica.close();
        this.primary.close();
    }

    private RedisStatefulExecutor executor(boolean tracking) {
        RedisStatefulExecutor.Builder builder = RedisStatefulExecutor.builder()
            .connector(() -> this.client.connect(StringCodec.UTF8))
            .pubSubConnections(() -> this.client.connectPubSub(StringCodec.UTF8))
            .keyPrefix("test")
            .commandTimeout(Duration.ofSeconds(2))
            .replicaAcks(1, ACK_TIMEOUT, () -> this.client.connect(StringCodec.UTF8));
        if (tracking) {
            builder.trackingConnection(() -> this.client.connect(StringCodec.UTF8));
        }
        return builder.build();
    }

    @Test
    void aFencedWriteAnsweredAsDoneIsOnTheReplicaAlready() {
        try (RedisStatefulExecutor executor = executor(false)) {
            for (int i = 0; i < 200; i++) {
                String uid = "u" + i;
                executor.setLinkedPodAsync("ns", uid, "chat", 1, RouteArguments.PERSIST_FOREVER, FAR).join();
                // read at once, with no wait of the test's own: the replica had it before the answer came
                assertThat(podOnReplica(uid)).as(uid).isEqualTo("1");
            }
            assertThat(executor.handOffLinkedPodAsync("ns", "u0", "chat", 1, 2, FAR).join()).isTrue();
            assertThat(podOnReplica("u0")).isEqualTo("2");
        }
    }

    /** The pod field of the user's link as the replica has it ("<pod>:<given at ms>"). */
    private String podOnReplica(String uid) {
        String value = this.onReplica.sync().get("test:{u:ns:" + uid + "}:link:chat");
        return (value != null) ? value.split(":")[0] : null;
    }

    @Test
    void aWriteNoReplicaConfirmsFailsTypedAndIsOnThePrimary() {
        try (RedisStatefulExecutor executor = executor(false)) {
            executor.setLinkedPodAsync("ns", "warm", "chat", 1, RouteArguments.PERSIST_FOREVER, FAR).join();
            this.replica.stop();
            long started = System.nanoTime();
            assertThatThrownBy(() -> executor.setLinkedPodAsync("ns", "alone", "chat", 1, RouteArguments.PERSIST_FOREVER,
                    FAR).join())
                .hasCauseInstanceOf(ReplicaAcknowledgementException.class)
                .cause().satisfies((ex) -> assertThat(((ReplicaAcknowledgementException) ex).confirmed()).isZero());
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(ACK_TIMEOUT);
            assertThat(executor.getLinkedPod("ns", "alone", "chat")).hasValue(1);
            // a gateway's new user and the unfenced calls wait for nobody
            assertThat(executor.setLinkedPodIfAbsent("ns", "new", "chat", 2, 300).podIndex()).isEqualTo(2);
            assertThat(executor.setLinkedPod("ns", "admin", "chat", 3, 300)).isEmpty();
        }
    }

    /** With tracking too, a pod still hears of another writer's change to a user it wrote with acknowledgement. */
    @Test
    void acknowledgedWritesStayTracked() throws Exception {
        try (RedisStatefulExecutor pod = executor(true); RedisStatefulExecutor other = executor(false)) {
            Set<String> heard = ConcurrentHashMap.newKeySet();
            try (AutoCloseable notices = pod.subscribeLinkChanges(Notices.uids(heard::add))) {
                pod.setLinkedPodAsync("ns", "held", "chat", 1, RouteArguments.PERSIST_FOREVER, FAR).join();
                other.setLinkedPod("ns", "held", "chat", 2, RouteArguments.PERSIST_FOREVER);
                await().atMost(Duration.ofSeconds(5)).until(() -> heard.contains("held"));
            }
        }
    }
}
