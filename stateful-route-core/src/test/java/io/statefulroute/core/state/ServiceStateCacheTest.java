package io.statefulroute.core.state;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.RedisMonitor;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class ServiceStateCacheTest {

    private RedisServer server;

    private TestRedis redis;

    private StatefulExecutor executor;

    private ServiceStateCache cache;

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
        this.executor = this.redis.executor();
        this.cache = new ServiceStateCache(this.executor, Duration.ofSeconds(1));
    }

    @AfterEach
    void stop() {
        this.redis.close();
        this.server.close();
    }

    @Test
    void firstUseLoadsOnceEvenWhenManyAskAtOnce() throws Exception {
        this.executor.setServiceState("ns", "chat", 0, RoutingState.READY, 1);
        this.cache.view("ns", "warm-up");
        try (RedisMonitor monitor = new RedisMonitor(this.server.host(), this.server.port(), this.redis.sync())) {
            List<CompletableFuture<ServiceView>> views = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                views.add(this.cache.viewAsync("ns", "chat"));
            }
            views.forEach(CompletableFuture::join);
            assertThat(monitor.clientCommands()).containsExactly("evalsha");
        }
        assertThat(this.cache.view("ns", "chat").isRoutable(0)).isTrue();
        ServiceStateCache.Stats stats = this.cache.stats();
        assertThat(stats.hits() + stats.misses()).isEqualTo(22);
        assertThat(stats.misses()).isGreaterThanOrEqualTo(2);
        assertThat(stats.services()).as("warm-up has no pod: not tracked").isEqualTo(1);
    }

    @Test
    void refreshReadsEveryKnownServiceInOneRoundTripEach() throws Exception {
        for (int service = 0; service < 10; service++) {
            this.executor.setServiceState("ns", "svc" + service, 0, RoutingState.READY, 0);
            this.cache.view("ns", "svc" + service);
        }
        this.executor.setServiceState("ns", "svc3", 1, RoutingState.DENY_NEW_CALL, 0);

        try (RedisMonitor monitor = new RedisMonitor(this.server.host(), this.server.port(), this.redis.sync())) {
            this.cache.refresh();
            assertThat(monitor.clientCommands()).hasSize(10).containsOnly("evalsha");
        }
        assertThat(this.cache.cachedView("ns", "svc3").isAvailable(1)).isTrue();
        assertThat(this.cache.cachedView("ns", "svc3").isRoutable(1)).isFalse();
        assertThat(this.cache.stats().refreshes()).isEqualTo(1);
        assertThat(this.cache.stats().lastRefresh()).isNotNull();
    }

    @Test
    void aPodDiesWhenItsHeartbeatIsOlderThanTheExpiryEvenWithoutARefresh() {
        this.executor.setServiceState("ns", "chat", 0, RoutingState.READY, 0);
        this.executor.setServiceState("ns", "chat", 1, RoutingState.READY, 0);
        ServiceView view = this.cache.view("ns", "chat");
        assertThat(view.routablePods()).extracting(PodState::podIndex).containsExactly(0, 1);

        await().atMost(Duration.ofSeconds(3)).until(() -> view.routablePods().isEmpty());
        assertThat(view.isAlive(0)).isFalse();
        assertThat(view.isAvailable(1)).isFalse();
        assertThat(view.pods()).hasSize(2);
    }
}
