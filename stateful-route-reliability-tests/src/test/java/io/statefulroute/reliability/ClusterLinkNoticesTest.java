package io.statefulroute.reliability;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * On a Redis Cluster the gateway's link change subscription lives on one node. When that node
 * goes away, the subscription comes back on another node by itself, and meanwhile the fallback
 * holds: a link moved while notices could not arrive is re-read within two check periods plus
 * the fallback TTL instead of staying cached for the cache TTL. Notices on the channel, asked
 * for: by default (tracking where supported) there is no subscription to lose.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ClusterLinkNoticesTest {

    private static final String NS = "cn";

    private static final String PREFIX = StarterContexts.uniquePrefix();

    private static final String CHANNEL = PREFIX + ":link-changes";

    private static final Duration REFRESH_PERIOD = Duration.ofMillis(200);

    private static final Duration FALLBACK_TTL = Duration.ofSeconds(1);

    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(2);

    @Test
    void linkNoticesSurviveTheLossOfTheirNode() throws Exception {
        try (RedisCluster cluster = RedisServers.cluster().start()) {
            ApplicationContextRunner runner = StarterContexts.runner()
                .withPropertyValues("spring.data.redis.cluster.nodes=" + cluster.nodesProperty(),
                        "spring.data.redis.lettuce.cluster.refresh.adaptive=true",
                        "spring.data.redis.lettuce.cluster.refresh.period=1s", "stateful-route.key-prefix=" + PREFIX,
                        "stateful-route.namespace=" + NS, "stateful-route.command-timeout=" + COMMAND_TIMEOUT.toMillis() + "ms",
                        "stateful-route.state.refresh-period=" + REFRESH_PERIOD.toMillis() + "ms",
                        "stateful-route.cache.fallback-ttl=" + FALLBACK_TTL.toMillis() + "ms",
                        "stateful-route.state.pod-expiry=5s", "stateful-route.server.heartbeat-period=200ms",
                        "stateful-route.server.drain-period=0s", "stateful-route.link.notices=channel");
            // Only the gateway subscribes, so the node holding a subscription is the gateway's.
            ApplicationContextRunner pods = runner.withPropertyValues("stateful-route.server.service=chat",
                    "stateful-route.link.follow-changes=false");
            ContextsOnTheirOwnThread.run("cluster notices", (checked) -> pods
                .withPropertyValues("stateful-route.server.pod-index=0")
                .run((pod0) -> pods.withPropertyValues("stateful-route.server.pod-index=1")
                    .run((pod1) -> runner.run((gateway) -> ContextsOnTheirOwnThread.report(checked,
                            () -> check(cluster, pod0, pod1, gateway))))));
        }
    }

    private void check(RedisCluster cluster, AssertableApplicationContext pod0, AssertableApplicationContext pod1,
            AssertableApplicationContext gateway) {
        assertThat(List.of(pod0, pod1, gateway)).allSatisfy((context) -> assertThat(context).hasNotFailed());
        StatefulRouteForClientDriver client = gateway.getBean(StatefulRouteForClientDriver.class);
        StatefulRouteForServerDriver server1 = pod1.getBean(StatefulRouteForServerDriver.class);
        await().atMost(Duration.ofSeconds(10)).until(() -> client.isFollowingLinkChanges()
                && client.routeInfo().serviceState(NS, "chat").routablePods().size() == 2);
        RedisServer subscribedOn = await().atMost(Duration.ofSeconds(5)).until(() -> subscribedNode(cluster), Optional::isPresent)
            .orElseThrow();
        Figures.print("cluster notices", "gateway subscribed on", subscribedOn.port()
                + (cluster.masters().contains(subscribedOn) ? " (a master)" : " (a replica)"));

        // Users held by pod 1, cached by the gateway.
        String movedWhileLost = holdOnPod1(client, server1, "moved-while-lost");
        String movedAfter = holdOnPod1(client, server1, "moved-after");

        // The node goes away: a master fails over to its replica, a replica simply stops.
        RedisServer stopped;
        if (cluster.masters().contains(subscribedOn)) {
            String key = keyServedBy(cluster, subscribedOn);
            stopped = cluster.failOverMasterOf(key);
            // Reads of that slot range wait for the gateway's own client to learn the new master
            // (ClusterThroughSpringTest measures that); the fallback is measured from then on. The
            // periodic refresh (1 s) usually learns it within a few seconds; a loaded 2-core machine can
            // delay the refresh and the replica's promotion well beyond that.
            RedisClusterClient gatewayClient = (RedisClusterClient) gateway.getBean(LettuceConnectionFactory.class)
                .getRequiredNativeClient();
            long failedOver = System.nanoTime();
            await().atMost(Duration.ofSeconds(30)).until(() -> cluster.masters().stream().anyMatch((master) -> master
                .port() == gatewayClient.getPartitions().getMasterBySlot(SlotHash.getSlot(key)).getUri().getPort()));
            Figures.print("cluster notices", "gateway's client learned the new master after",
                    Figures.millis(System.nanoTime() - failedOver));
        }
        else {
            stopped = subscribedOn;
            stopped.stop();
        }
        long gone = System.nanoTime();
        // A move whose notice the gateway may never get: it must stop trusting its cached link soon.
        StatefulExecutor redis = pod0.getBean(StatefulExecutor.class);
        handOffToPod0(server1, redis, movedWhileLost);
        long handedOff = System.nanoTime();
        Duration bound = REFRESH_PERIOD.multipliedBy(2).plus(FALLBACK_TTL).plus(COMMAND_TIMEOUT).plusMillis(500);
        await().atMost(bound).pollInterval(Duration.ofMillis(10)).ignoreException(RedisUnavailableException.class)
            .until(() -> client.computeLinkedPod(NS, movedWhileLost, "chat") == 0);
        Figures.print("cluster notices", "moved link routed right after the subscription's node went away, after",
                Figures.millis(System.nanoTime() - handedOff) + " (bound " + bound.toMillis() + " ms)");

        // The subscription comes back by itself on a running node, and notices flow again.
        RedisServer resubscribedOn = await().atMost(Duration.ofSeconds(20))
            .until(() -> subscribedNode(cluster), Optional::isPresent)
            .orElseThrow();
        await().atMost(Duration.ofSeconds(20)).until(client::isFollowingLinkChanges);
        Figures.print("cluster notices", "subscription back on " + resubscribedOn.port() + " and probes answered after",
                Figures.millis(System.nanoTime() - gone));
        assertThat(resubscribedOn.port()).isNotEqualTo(stopped.port());
        await().atMost(Duration.ofSeconds(5)).ignoreException(RedisUnavailableException.class)
            .until(() -> client.computeLinkedPod(NS, movedAfter, "chat") == 1);
        long handOff = System.nanoTime();
        handOffToPod0(server1, redis, movedAfter);
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(1))
            .until(() -> client.getLinkedInCache(NS, movedAfter, "chat").isEmpty());
        Figures.print("cluster notices", "handoff notice after resubscription reached the gateway within",
                Figures.millis(System.nanoTime() - handOff));
        assertThat(client.computeLinkedPod(NS, movedAfter, "chat")).isZero();
        // The old node rejoins (as a replica) so that no client keeps reconnecting to it while contexts close.
        stopped.start();
    }

    /**
     * Pod 1 hands the user to pod 0, retrying while its own client still learns the topology; a
     * hand-off that timed out on the client may still have happened, and then the link is there.
     */
    private static void handOffToPod0(StatefulRouteForServerDriver server1, StatefulExecutor redis, String uid) {
        await().atMost(Duration.ofSeconds(10)).ignoreException(RedisUnavailableException.class)
            .until(() -> server1.handOff(uid, 0)
                    || redis.await(redis.getLinkAsync(NS, uid, "chat")).map(LinkInfo::podIndex).orElse(-1) == 0);
    }

    /** Links a user to pod 1 (persistently, as the pod would) and lets the gateway cache it. */
    private static String holdOnPod1(StatefulRouteForClientDriver client, StatefulRouteForServerDriver server1,
            String uid) {
        server1.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        assertThat(client.computeLinkedPod(NS, uid, "chat")).isEqualTo(1);
        assertThat(client.getLinkedInCache(NS, uid, "chat")).hasValue(1);
        return uid;
    }

    /** The running node with a subscriber on the change channel (PUBSUB NUMSUB counts a node's own). */
    private static Optional<RedisServer> subscribedNode(RedisCluster cluster) {
        return Stream.concat(cluster.masters().stream(), cluster.replicas().stream())
            .filter(RedisServer::isRunning)
            .filter((node) -> subscribers(node) > 0)
            .findFirst();
    }

    private static long subscribers(RedisServer node) {
        RedisClient client = RedisClient.create(RedisURI.create(node.uri()));
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            return connection.sync().pubsubNumsub(CHANNEL).getOrDefault(CHANNEL, 0L);
        }
        finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }

    /** A key in a slot the given master serves (master i serves the i-th third of the slots). */
    private static String keyServedBy(RedisCluster cluster, RedisServer master) {
        int shard = cluster.masters().indexOf(master);
        int[] firstSlots = { 0, 5461, 10923, 16384 };
        return IntStream.iterate(0, (i) -> i + 1)
            .mapToObj((i) -> "k" + i)
            .filter((key) -> SlotHash.getSlot(key) >= firstSlots[shard] && SlotHash.getSlot(key) < firstSlots[shard + 1])
            .findFirst()
            .orElseThrow();
    }
}
