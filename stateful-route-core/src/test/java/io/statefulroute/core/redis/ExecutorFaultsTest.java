package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Bad input, lost scripts and a Redis that goes away, each on a server of its own. */
class ExecutorFaultsTest {

    private RedisServer server;

    private TestRedis redis;

    private StatefulExecutor executor;

    private RedisCommands<String, String> admin;

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
        this.executor = this.redis.executor(Duration.ofMillis(500));
        this.admin = this.redis.sync();
    }

    @AfterEach
    void stop() {
        this.redis.close();
        this.server.close();
    }

    @Test
    void badInputIsRejectedByNameBeforeAnyRedisCall() {
        String huge = "x".repeat(RouteArguments.MAX_ID_LENGTH + 1);
        this.admin.configResetstat();

        assertRejected("uid", () -> this.executor.setLinkedPodIfAbsent("ns", " ", "chat", 1, 300));
        assertRejected("uid", () -> this.executor.getLinkedPod("ns", null, "chat"));
        assertRejected("uid", () -> this.executor.getLinkedPod("ns", huge, "chat"));
        assertRejected("uid", () -> this.executor.getLinkedPod("ns", "half a pair \uD800", "chat"));
        assertRejected("namespace", () -> this.executor.getLinkService("", "u"));
        assertRejected("service", () -> this.executor.batchGetLinkedPod("ns", List.of("u"), "\t"));
        assertRejected("uid", () -> this.executor.batchGetLinkedPod("ns", Arrays.asList("u", null), "chat"));
        assertRejected("podIndex", () -> this.executor.setLinkedPod("ns", "u", "chat", -1, 300));
        assertRejected("podIndex", () -> this.executor.setLinkedPod("ns", "u", "chat", Integer.MAX_VALUE, 300));
        assertRejected("persistSeconds", () -> this.executor.setLinkedPod("ns", "u", "chat", 1, 0));
        assertRejected("persistSeconds", () -> this.executor.trySetLinkedPod("ns", "u", "chat", 1, -5));
        assertRejected("graceSeconds", () -> this.executor.removeLinkedPod("ns", "u", "chat", -1));
        assertRejected("loadScore", () -> this.executor.setServiceState("ns", "chat", 0, RoutingState.READY, Double.NaN));
        assertRejected("routingState", () -> this.executor.setServiceState("ns", "chat", 0, null, 1));
        assertRejected("workload", () -> this.executor.setWorkloadState("ns", "chat", null));

        assertThat(this.admin.info("commandstats")).doesNotContain("cmdstat_evalsha", "cmdstat_hget", "cmdstat_eval:");
        assertThat(this.admin.dbsize()).isZero();
    }

    private static void assertRejected(String argument, Executable call) {
        assertThatThrownBy(call::execute).isInstanceOf(InvalidRouteArgumentException.class)
            .hasMessageContaining(argument)
            .extracting((ex) -> ((InvalidRouteArgumentException) ex).getArgument())
            .isEqualTo(argument);
    }

    @Test
    void anExecutorBuiltWhileRedisIsDownConnectsOnceRedisIsUp() {
        this.server.stop();
        try (RedisStatefulExecutor late = RedisStatefulExecutor.builder()
            .connector(this.redis::connect)
            .commandTimeout(Duration.ofMillis(500))
            .build()) {
            assertThatThrownBy(() -> late.getLinkedPod("ns", "u", "chat")).isInstanceOf(RedisUnavailableException.class);

            this.server.start();
            await().atMost(Duration.ofSeconds(10)).ignoreExceptionsInstanceOf(RedisUnavailableException.class)
                .until(() -> late.setLinkedPodIfAbsent("ns", "u", "chat", 2, 300).podIndex() == 2);
        }
    }

    /**
     * A flushed script cache (as after a restart or a failover) costs each script one EVAL of
     * its source, which loads it again; the calls after it are EVALSHA only. The same on the
     * client-tracking connection, which sends its scripts itself.
     */
    @ParameterizedTest
    @ValueSource(booleans = { false, true })
    void scriptsFlushedFromRedisAreSentAgainTransparently(boolean tracking) {
        try (RedisStatefulExecutor executor = tracking ? this.redis.trackingExecutor() : this.redis.executor()) {
            executor.setLinkedPod("ns", "u1", "chat", 1, 300);
            this.admin.scriptFlush();
            this.admin.configResetstat();

            assertThat(executor.setLinkedPodIfAbsent("ns", "u1", "chat", 2, 300).podIndex()).isEqualTo(1);
            assertThat(executor.setLinkedPodIfAbsent("ns", "u2", "chat", 2, 300).podIndex()).isEqualTo(2);
            assertThat(executor.setLinkedPodIfAbsentAsync("ns", "u3", "chat", 3, 300)).succeedsWithin(Duration.ofSeconds(2))
                .extracting(LinkInfo::podIndex).isEqualTo(3);
            assertThat(executor.getLinkService("ns", "u1")).containsEntry("chat", 1);

            assertThat(commandCalls("eval")).isEqualTo(1);
            assertThat(commandCalls("evalsha")).isEqualTo(3);
        }
    }

    /** Only NOSCRIPT sends the source: any other script error reaches the caller, typed, on the first reply. */
    @ParameterizedTest
    @ValueSource(booleans = { false, true })
    void aScriptErrorOtherThanNoScriptIsNotSentAgain(boolean tracking) {
        try (RedisStatefulExecutor executor = tracking ? this.redis.trackingExecutor() : this.redis.executor()) {
            executor.setLinkedPodIfAbsent("ns", "u0", "chat", 1, 300);
            this.admin.hset(executor.keyPrefix() + ":{u:ns:u1}:link:chat", "not", "a link");
            this.admin.configResetstat();

            assertThatThrownBy(() -> executor.setLinkedPodIfAbsent("ns", "u1", "chat", 2, 300))
                .isExactlyInstanceOf(StatefulRouteException.class)
                .hasMessageContaining("rejected by Redis").hasMessageContaining("WRONGTYPE");
            assertThat(commandCalls("eval")).isZero();
            assertThat(commandCalls("evalsha")).isEqualTo(1);
        }
    }

    private long commandCalls(String command) {
        return Arrays.stream(this.admin.info("commandstats").split("\r?\n"))
            .filter((line) -> line.startsWith("cmdstat_" + command + ":"))
            .mapToLong((line) -> Long.parseLong(line.replaceAll("^[^:]+:calls=(\\d+),.*$", "$1")))
            .findFirst()
            .orElse(0);
    }

    @Test
    void redisDownGivesTheTypedErrorWithinTheTimeoutAndRecoveryNeedsNoManualStep() {
        this.executor.setLinkedPod("ns", "kept", "chat", 3, RouteArguments.PERSIST_FOREVER);
        this.server.stop();

        long started = System.nanoTime();
        assertThatThrownBy(() -> this.executor.getLinkedPod("ns", "kept", "chat"))
            .isInstanceOf(RedisUnavailableException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
        assertThat(this.executor.getLinkAsync("ns", "kept", "chat"))
            .failsWithin(Duration.ofSeconds(2))
            .withThrowableOfType(java.util.concurrent.ExecutionException.class)
            .withCauseInstanceOf(RedisUnavailableException.class);

        // a restarted server has an empty script cache (and here, no data: persistence is off)
        this.server.start();
        await().atMost(Duration.ofSeconds(10)).ignoreExceptionsInstanceOf(RedisUnavailableException.class)
            .until(() -> this.executor.setLinkedPodIfAbsent("ns", "fresh", "chat", 1, 300).created());
        assertThat(this.executor.getLinkedPod("ns", "fresh", "chat")).hasValue(1);
    }

    /** How the connection an executor runs on times its own commands. */
    enum ConnectionTimeouts {

        /** Lettuce's defaults (commands expire after the connection's 60 s), handed over to the executor. */
        OWNED_DEFAULTS(true, TimeoutOptions.enabled()),

        /** Lettuce's defaults, on a connection the application keeps: the executor must not change it. */
        SHARED_DEFAULTS(false, TimeoutOptions.enabled()),

        /** A connection whose commands never expire by themselves. */
        SHARED_WITHOUT_EXPIRY(false, TimeoutOptions.builder().timeoutCommands(false).build());

        final boolean owned;

        final TimeoutOptions options;

        ConnectionTimeouts(boolean owned, TimeoutOptions options) {
            this.owned = owned;
            this.options = options;
        }
    }

    @ParameterizedTest
    @EnumSource(ConnectionTimeouts.class)
    void everyAsyncCallEndsWithinTheCommandTimeoutWhateverTheConnectionsOwnTimeouts(ConnectionTimeouts timeouts) {
        RedisClient client = RedisClient.create(RedisURI.create(this.server.host(), this.server.port()));
        client.setOptions(ClientOptions.builder().timeoutOptions(timeouts.options).build());
        StatefulRedisConnection<String, String> connection = client.connect(StringCodec.UTF8);
        RedisStatefulExecutor.Builder builder = RedisStatefulExecutor.builder().commandTimeout(Duration.ofMillis(300));
        try (RedisStatefulExecutor executor = (timeouts.owned ? builder.ownedConnection(connection)
                : builder.connection(connection)).build()) {
            executor.setLinkedPod("ns", "u", "chat", 1, 300);
            // every client is held for 5 s: only a timeout can end the calls within 3 s
            this.admin.clientPause(5000);

            assertLinkCallsFailWithin3Seconds(executor);
            if (!timeouts.owned) {
                assertThat(connection.getTimeout()).isEqualTo(RedisURI.DEFAULT_TIMEOUT_DURATION);
            }
        }
        finally {
            connection.close();
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }

    /**
     * The same for link scripts on a client-tracking connection, which the executor opens and
     * owns: with Lettuce's own command expiry (no timer per call) and without any.
     */
    @ParameterizedTest
    @EnumSource(value = ConnectionTimeouts.class, names = { "OWNED_DEFAULTS", "SHARED_WITHOUT_EXPIRY" })
    void trackedLinkCallsEndWithinTheCommandTimeoutToo(ConnectionTimeouts timeouts) {
        RedisClient client = RedisClient.create(RedisURI.create(this.server.host(), this.server.port()));
        client.setOptions(ClientOptions.builder().timeoutOptions(timeouts.options).build());
        try (RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
            .connector(() -> client.connect(StringCodec.UTF8))
            .trackingConnection(() -> client.connect(StringCodec.UTF8))
            .commandTimeout(Duration.ofMillis(300))
            .build()) {
            executor.setLinkedPod("ns", "u", "chat", 1, 300);
            // every client is held for 5 s: only a timeout can end the calls within 3 s
            this.admin.clientPause(5000);

            assertLinkCallsFailWithin3Seconds(executor);
        }
        finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }

    private static void assertLinkCallsFailWithin3Seconds(StatefulExecutor executor) {
        assertThat(executor.getLinkAsync("ns", "u", "chat")).failsWithin(Duration.ofSeconds(3))
            .withThrowableOfType(java.util.concurrent.ExecutionException.class)
            .withCauseInstanceOf(RedisUnavailableException.class);
        assertThat(executor.setLinkedPodIfAbsentAsync("ns", "new", "chat", 1, 300))
            .failsWithin(Duration.ofSeconds(3))
            .withThrowableOfType(java.util.concurrent.ExecutionException.class)
            .withCauseInstanceOf(RedisUnavailableException.class);
    }
}
