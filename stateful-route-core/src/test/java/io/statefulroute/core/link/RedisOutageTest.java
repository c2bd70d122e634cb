package io.statefulroute.core.link;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Redis goes away for longer than the pod state expiry: cached routes keep answering (pods
 * alive when the outage began are not declared dead for want of heartbeats), new users get
 * the typed error, and everything recovers by itself.
 */
class RedisOutageTest {

    private static final Duration POD_EXPIRY = Duration.ofMillis(800);

    @Test
    void cachedRoutesOutliveThePodExpiryDuringAnOutage() {
        try (RedisServer server = RedisServers.standalone().start(); TestRedis redis = TestRedis.on(server)) {
            StatefulExecutor executor = redis.executor(Duration.ofMillis(300));
            ServiceStateCache states = new ServiceStateCache(executor, POD_EXPIRY);
            StatefulRouteForClientDriver client = new StatefulRouteForClientDriver(executor,
                    new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector()),
                    ClientOptions.defaults("ns"));
            executor.setServiceState("ns", "chat", 1, RoutingState.READY, 0);
            executor.setLinkedPod("ns", "alice", "chat", 1, RouteArguments.PERSIST_FOREVER);
            assertThat(client.computeLinkedPod("ns", "alice", "chat")).isEqualTo(1);

            server.stop();
            assertThat(states.refreshAsync()).failsWithin(Duration.ofSeconds(2));
            assertThat(states.stats().redisUnavailable()).isTrue();

            await().during(POD_EXPIRY.multipliedBy(2)).atMost(POD_EXPIRY.multipliedBy(4))
                .until(() -> client.computeLinkedPod("ns", "alice", "chat") == 1);
            assertThatThrownBy(() -> client.computeLinkedPod("ns", "bob", "chat"))
                .isInstanceOf(RedisUnavailableException.class);

            server.start();
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
                executor.setServiceState("ns", "chat", 1, RoutingState.READY, 0);
                states.refresh();
                return !states.stats().redisUnavailable();
            });
            assertThat(client.computeLinkedPod("ns", "bob", "chat")).isEqualTo(1);
        }
    }

    /**
     * An outage noticed late (the failing read waits out the command timeout, longer on a busy
     * machine) still counts from Redis' last answer: a pod alive then is alive while Redis is
     * away and right after it returns, before its next heartbeat, so its users stay on it.
     */
    @Test
    void anOutageNoticedLateCountsFromRedisLastAnswer() throws InterruptedException {
        // AOF: the pod entries written before the outage are there after it
        try (RedisServer server = RedisServers.standalone().args("--appendonly", "yes", "--appendfsync", "always").start(); TestRedis redis = TestRedis.on(server)) {
            StatefulExecutor executor = redis.executor(Duration.ofMillis(300));
            ServiceStateCache states = new ServiceStateCache(executor, POD_EXPIRY);
            StatefulRouteForClientDriver client = new StatefulRouteForClientDriver(executor,
                    new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector()),
                    ClientOptions.defaults("ns"));
            executor.setServiceState("ns", "chat", 1, RoutingState.READY, 0);
            executor.setServiceState("ns", "chat", 2, RoutingState.READY, 0);
            executor.setLinkedPod("ns", "alice", "chat", 1, RouteArguments.PERSIST_FOREVER);
            assertThat(client.computeLinkedPod("ns", "alice", "chat")).isEqualTo(1);

            server.stop();
            // Nobody reads for longer than the pod expiry: the outage goes unnoticed that long.
            Thread.sleep(POD_EXPIRY.multipliedBy(3).toMillis() / 2);
            assertThat(states.refreshAsync()).failsWithin(Duration.ofSeconds(2));
            assertThat(client.computeLinkedPod("ns", "alice", "chat")).isEqualTo(1);

            server.start();
            // Redis answers again before pod 1 heartbeats: pod 1 must not be dead (alice would move to pod 2).
            executor.setServiceState("ns", "chat", 2, RoutingState.READY, 0);
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
                states.refresh();
                return !states.stats().redisUnavailable();
            });
            assertThat(states.view("ns", "chat").isAvailable(1)).isTrue();
            client.cacheExpired("ns", "alice", "chat");
            assertThat(client.computeLinkedPod("ns", "alice", "chat")).isEqualTo(1);
        }
    }
}
