package io.statefulroute.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Closing a web application that is a pod of a stateful service, observed from Redis by
 * another process' executor.
 */
class GracefulDrainTests {

    private static final Duration DRAIN = Duration.ofSeconds(1);

    @Test
    void closePublishesDenyNewCallAndKeepsHeartbeatingForTheDrainPeriodBeforeShutdown() throws Exception {
        RedisServer redis = RedisServers.shared();
        String keyPrefix = "sr-drain-" + UUID.randomUUID().toString().substring(0, 8);
        try (RedisObserver observer = new RedisObserver(redis, keyPrefix, "drain", Duration.ofSeconds(1))) {
            ConfigurableApplicationContext application = start(redis, keyPrefix, "500ms");
            await().atMost(Duration.ofSeconds(5)).until(() -> state(observer) != null
                    && state(observer).routingState() == RoutingState.READY);

            long closeStarted = System.nanoTime();
            CompletableFuture<Void> closing = CompletableFuture.runAsync(application::close);
            List<PodState> seen = new ArrayList<>();
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> {
                PodState state = state(observer);
                if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(state)) {
                    seen.add(state);
                }
                return state.routingState() == RoutingState.SHUTDOWN;
            });
            closing.get(5, TimeUnit.SECONDS);
            Duration closeTook = Duration.ofNanos(System.nanoTime() - closeStarted);

            List<RoutingState> order = seen.stream().map(PodState::routingState).distinct().toList();
            assertThat(order).endsWith(RoutingState.DENY_NEW_CALL, RoutingState.SHUTDOWN);
            List<Long> drainingHeartbeats = seen.stream()
                .filter((state) -> state.routingState() == RoutingState.DENY_NEW_CALL)
                .map(PodState::updateTimeMillis)
                .distinct()
                .toList();
            // Heartbeats every 100 ms through a 1 s drain: several, spread over the drain (the bound leaves
            // room for a busy CI machine that delays the observer's polls and the scheduler's ticks).
            assertThat(drainingHeartbeats).hasSizeGreaterThanOrEqualTo(4);
            assertThat(drainingHeartbeats.get(drainingHeartbeats.size() - 1) - drainingHeartbeats.get(0))
                .isGreaterThanOrEqualTo(DRAIN.toMillis() / 2);
            assertThat(closeTook).isBetween(DRAIN, DRAIN.plusSeconds(3));
        }
    }

    @Test
    void redisDownDoesNotHoldShutdownBeyondTheDrainPeriod() throws Exception {
        try (RedisServer redis = RedisServers.standalone().start()) {
            ConfigurableApplicationContext application = start(redis, "sr-down", "300ms");
            redis.stop();
            long closeStarted = System.nanoTime();
            CompletableFuture.runAsync(application::close).get(10, TimeUnit.SECONDS);
            Duration closeTook = Duration.ofNanos(System.nanoTime() - closeStarted);
            // Drain period plus one command timeout, plus slack for Tomcat and Lettuce to stop.
            assertThat(closeTook).isLessThan(DRAIN.plusMillis(300).plusSeconds(2));
        }
    }

    private static ConfigurableApplicationContext start(RedisServer redis, String keyPrefix, String commandTimeout) {
        return new SpringApplicationBuilder(TestApplication.class).web(WebApplicationType.SERVLET)
            .properties("server.port=0", "spring.data.redis.host=" + redis.host(),
                    "spring.data.redis.port=" + redis.port(), "stateful-route.key-prefix=" + keyPrefix,
                    "stateful-route.namespace=drain", "stateful-route.command-timeout=" + commandTimeout,
                    "stateful-route.server.service=chat", "stateful-route.server.pod-index=2",
                    "stateful-route.server.heartbeat-period=100ms", "stateful-route.server.drain-period=" + DRAIN,
                    "stateful-route.state.pod-expiry=1s", "stateful-route.state.refresh-period=100ms",
                    "server.shutdown=graceful")
            .run();
    }

    private static PodState state(RedisObserver observer) {
        return observer.executor.getServiceState("drain", "chat").pod(2).orElse(null);
    }

}
