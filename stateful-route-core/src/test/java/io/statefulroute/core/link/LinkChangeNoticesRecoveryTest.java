package io.statefulroute.core.link;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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
import static org.awaitility.Awaitility.await;

/**
 * The notice channel breaks: the gateway must notice by itself and keep staleness within the
 * documented bound (two check periods plus the fallback TTL) with no manual step. The test
 * plays the starter's scheduler by calling {@code checkLinkChanges()} every check period.
 */
class LinkChangeNoticesRecoveryTest {

    private static final Duration CHECK_PERIOD = Duration.ofMillis(250);

    private static final Duration FALLBACK_TTL = Duration.ofMillis(500);

    /** Documented worst case: 2 check periods + fallback TTL; the rest is margin for a loaded CI machine. */
    private static final Duration BOUND = CHECK_PERIOD.multipliedBy(2).plus(FALLBACK_TTL).plusSeconds(2);

    private RedisServer server;

    private TestRedis redis;

    private StatefulExecutor podSide;

    private StatefulRouteForClientDriver gateway;

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
        this.podSide = this.redis.executor(Duration.ofMillis(500));
        StatefulExecutor executor = this.redis.executor(Duration.ofMillis(500));
        this.gateway = new StatefulRouteForClientDriver(executor,
                new RouteInfoDriver(new ServiceStateCache(executor, Duration.ofSeconds(30)),
                        PodSelectionStrategy.LOAD_AWARE.newSelector()),
                new ClientOptions("ns", Duration.ofSeconds(300), Duration.ofSeconds(240), 1000, FALLBACK_TTL));
        this.gateway.listenForLinkChanges();
        awaitTrusted();
        for (int pod = 0; pod < 3; pod++) {
            this.podSide.setServiceState("ns", "chat", pod, RoutingState.READY, 0);
        }
    }

    @AfterEach
    void stop() {
        this.gateway.stopListeningForLinkChanges();
        this.redis.close();
        this.server.close();
    }

    private void awaitTrusted() {
        await().atMost(Duration.ofSeconds(10)).pollInterval(CHECK_PERIOD).until(() -> {
            this.gateway.checkLinkChanges().exceptionally((ex) -> null);
            return this.gateway.isFollowingLinkChanges();
        });
    }

    /** Time until the gateway routes uid to pod, checking notices every period as the starter would. */
    private Duration untilRoutedTo(String uid, int pod) {
        long started = System.nanoTime();
        await().atMost(BOUND).pollInterval(CHECK_PERIOD).ignoreExceptionsInstanceOf(RedisUnavailableException.class)
            .until(() -> {
                this.gateway.checkLinkChanges().exceptionally((ex) -> null);
                return this.gateway.computeLinkedPod("ns", uid, "chat") == pod;
            });
        return Duration.ofNanos(System.nanoTime() - started);
    }

    @Test
    void killedSubscriberIsNoticedAndStalenessStaysBounded() {
        this.podSide.setLinkedPod("ns", "alice", "chat", 1, RouteArguments.PERSIST_FOREVER);
        assertThat(this.gateway.computeLinkedPod("ns", "alice", "chat")).isEqualTo(1);

        this.redis.sync().clientKill(io.lettuce.core.KillArgs.Builder.typePubsub());
        this.podSide.setLinkedPod("ns", "alice", "chat", 2, RouteArguments.PERSIST_FOREVER);

        Duration stale = untilRoutedTo("alice", 2);
        System.out.printf("CLIENT KILL: routed to the new pod after %d ms (bound %d ms)%n", stale.toMillis(),
                BOUND.toMillis());
        awaitTrusted();
        // notices flow again: the next move is seen at once
        this.gateway.computeLinkedPod("ns", "alice", "chat");
        this.podSide.setLinkedPod("ns", "alice", "chat", 0, RouteArguments.PERSIST_FOREVER);
        await().atMost(Duration.ofSeconds(1)).until(() -> this.gateway.getLinkedInCache("ns", "alice", "chat").isEmpty());
    }

    /**
     * A persistent link is made temporary while notices are lost; it expires in Redis and
     * another gateway links the user elsewhere. The cached persistent copy must not outlive
     * the fallback bound from the moment Redis' truth changed.
     */
    @Test
    void shortenedLinkWithNoticesLostStaysWithinTheFallbackBound() {
        this.podSide.setLinkedPod("ns", "carol", "chat", 1, RouteArguments.PERSIST_FOREVER);
        assertThat(this.gateway.computeLinkedPod("ns", "carol", "chat")).isEqualTo(1);

        this.redis.sync().clientKill(io.lettuce.core.KillArgs.Builder.typePubsub());
        this.podSide.setLinkedPod("ns", "carol", "chat", 1, 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> this.podSide.getLinkedPod("ns", "carol", "chat").isEmpty());
        assertThat(this.podSide.setLinkedPodIfAbsent("ns", "carol", "chat", 2, 300).podIndex()).isEqualTo(2);

        Duration stale = untilRoutedTo("carol", 2);
        System.out.printf("shortened link, notices lost: routed by Redis' truth after %d ms (bound %d ms)%n",
                stale.toMillis(), BOUND.toMillis());
        awaitTrusted();
    }

    @Test
    void restartedRedisIsNoticedAndStalenessStaysBounded() {
        this.podSide.setLinkedPod("ns", "bob", "chat", 1, RouteArguments.PERSIST_FOREVER);
        assertThat(this.gateway.computeLinkedPod("ns", "bob", "chat")).isEqualTo(1);

        this.server.stop();
        this.server.start();
        // persistence is off here: pods heartbeat again and the user is linked anew elsewhere
        await().atMost(Duration.ofSeconds(10)).ignoreExceptionsInstanceOf(RedisUnavailableException.class)
            .untilAsserted(() -> {
                for (int pod = 0; pod < 3; pod++) {
                    this.podSide.setServiceState("ns", "chat", pod, RoutingState.READY, 0);
                }
                this.podSide.setLinkedPod("ns", "bob", "chat", 2, RouteArguments.PERSIST_FOREVER);
            });

        Duration stale = untilRoutedTo("bob", 2);
        System.out.printf("Redis restart: routed to the new pod after %d ms (bound %d ms)%n", stale.toMillis(),
                BOUND.toMillis());
        awaitTrusted();
    }
}
