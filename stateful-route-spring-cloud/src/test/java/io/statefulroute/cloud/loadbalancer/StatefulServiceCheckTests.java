package io.statefulroute.cloud.loadbalancer;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.redis.RedisCallListener;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * {@link StatefulServiceCheck} on a real Redis and a real state cache, counting the state
 * reads that reach Redis.
 */
class StatefulServiceCheckTests {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** As in an application: the state cache remembers a service it does not track for its refresh period. */
    private static final Duration REFRESH_PERIOD = Duration.ofMillis(100);

    private final String namespace = "check-" + UUID.randomUUID();

    private final AtomicInteger stateReads = new AtomicInteger();

    private final AtomicInteger failedStateReads = new AtomicInteger();

    private RedisClient client;

    private RedisStatefulExecutor executor;

    private ServiceStateCache states;

    @AfterEach
    void close() {
        if (this.executor != null) {
            this.executor.close();
            this.client.shutdown();
        }
    }

    @Test
    void aServiceWhosePodsHeartbeatIsStatefulAndAnyOtherIsNot() {
        connect(RedisServers.shared());
        heartbeat("lobby");

        StatefulServiceCheck lobby = check("lobby", false, Duration.ofMinutes(1));
        StatefulServiceCheck orders = check("orders", false, Duration.ofMinutes(1));

        assertThat(lobby.knownAnswer()).isNull();
        assertThat(lobby.check().block(TIMEOUT)).isTrue();
        assertThat(lobby.knownAnswer()).isTrue();
        assertThat(orders.check().block(TIMEOUT)).isFalse();
        assertThat(orders.knownAnswer()).isFalse();
    }

    @Test
    void aListedServiceIsStatefulWithoutAskingRedis() {
        connect(RedisServers.shared());
        StatefulServiceCheck billing = check("billing", true, Duration.ofMinutes(1));

        assertThat(billing.knownAnswer()).isTrue();
        assertThat(billing.check().block(TIMEOUT)).isTrue();
        assertThat(this.stateReads).hasValue(0);
    }

    /** The per-request cost of a service that is not stateful: no Redis round trip. */
    @Test
    void requestsWithinTheRecheckPeriodAreAnsweredFromMemory() {
        connect(RedisServers.shared());
        StatefulServiceCheck orders = check("orders", false, Duration.ofMinutes(1));
        assertThat(orders.check().block(TIMEOUT)).isFalse();
        assertThat(this.stateReads).hasValue(1);

        for (int request = 0; request < 10_000; request++) {
            assertThat(orders.knownAnswer()).isFalse();
        }
        assertThat(this.stateReads).hasValue(1);
    }

    /**
     * A service whose pods start heartbeating becomes stateful within about a recheck period;
     * meanwhile every request gets the last answer at once, and the checks reach Redis at most
     * once per period (plus the state cache's own period), whatever the request rate.
     */
    @Test
    void aServiceIsCheckedAgainAfterThePeriodInTheBackground() {
        connect(RedisServers.shared());
        StatefulServiceCheck late = check("late", false, REFRESH_PERIOD);
        assertThat(late.check().block(TIMEOUT)).isFalse();
        heartbeat("late");
        long heartbeatAt = System.nanoTime();

        AtomicInteger requests = new AtomicInteger();
        await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(1)).until(() -> {
            Boolean answer = late.knownAnswer();
            requests.incrementAndGet();
            assertThat(answer).isNotNull();
            return answer;
        });
        long periods = Duration.ofNanos(System.nanoTime() - heartbeatAt).toMillis() / REFRESH_PERIOD.toMillis();
        assertThat(this.stateReads.get()).as("state reads for %d requests", requests.get())
            .isLessThanOrEqualTo((int) periods + 2);
    }

    @Test
    void whenRedisFailsARecheckTheLastAnswerStaysAndAFirstCheckFails() {
        try (RedisServer own = RedisServers.standalone().start()) {
            connect(own);
            StatefulServiceCheck orders = check("orders", false, REFRESH_PERIOD);
            assertThat(orders.check().block(TIMEOUT)).isFalse();
            own.stop();

            await().atMost(TIMEOUT).until(() -> {
                assertThat(orders.knownAnswer()).isFalse();
                return this.failedStateReads.get() > 0;
            });
            assertThat(orders.knownAnswer()).isFalse();
            assertThatExceptionOfType(RedisUnavailableException.class)
                .isThrownBy(() -> check("never-seen", false, REFRESH_PERIOD).check().block(TIMEOUT));
        }
    }

    private StatefulServiceCheck check(String service, boolean listed, Duration recheckPeriod) {
        return new StatefulServiceCheck(this.namespace, service, this.states, listed, recheckPeriod);
    }

    private void heartbeat(String service) {
        this.executor.heartbeatAsync(this.namespace, service, 0, RoutingState.READY, 0, null, null).join();
    }

    private void connect(RedisServer redis) {
        this.client = RedisClient.create(RedisURI.create(redis.host(), redis.port()));
        this.executor = RedisStatefulExecutor.builder()
            .ownedConnection(this.client.connect(StringCodec.UTF8))
            .keyPrefix("check")
            .commandTimeout(Duration.ofMillis(500))
            .callListener(new RedisCallListener() {

                @Override
                public Object started(String operation) {
                    if (operation.equals("getServiceState")) {
                        StatefulServiceCheckTests.this.stateReads.incrementAndGet();
                    }
                    return null;
                }

                @Override
                public void finished(Object token, String operation, long nanos, Throwable error) {
                    if (operation.equals("getServiceState") && error != null) {
                        StatefulServiceCheckTests.this.failedStateReads.incrementAndGet();
                    }
                }

            })
            .build();
        this.states = new ServiceStateCache(this.executor, Duration.ofSeconds(5), Duration.ofSeconds(2), 100,
                REFRESH_PERIOD);
    }

}
