package io.statefulroute.core.link;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.lettuce.core.MigrateArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A slot moves to another master while a tracking gateway still sends it to the old one: the
 * old master refuses (MOVED), so the link call is served by the cluster-aware connection,
 * untracked, and the gateway distrusts its cache instead of caching a link nobody tracks.
 */
class ClusterTrackingReshardTest {

    @Test
    void aMovedSlotIsServedUntrackedAndTheCacheIsDistrusted() throws Exception {
        RedisCluster cluster = RedisServers.cluster().start();
        try (TestRedis redis = TestRedis.on(cluster).owning(cluster)) {
            String ns = TestRedis.freshNamespace();
            StatefulExecutor podSide = redis.executor();
            for (int pod = 0; pod < 3; pod++) {
                podSide.setServiceState(ns, "chat", pod, RoutingState.READY, 0);
            }
            StatefulExecutor executor = redis.trackingExecutor();
            StatefulRouteForClientDriver gateway = new StatefulRouteForClientDriver(executor,
                    new RouteInfoDriver(new ServiceStateCache(executor, Duration.ofSeconds(30)),
                            PodSelectionStrategy.LOAD_AWARE.newSelector()),
                    ClientOptions.defaults(ns));
            gateway.listenForLinkChanges();
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                gateway.checkLinkChanges().join();
                return gateway.isFollowingLinkChanges();
            });
            podSide.setLinkedPod(ns, "moved", "chat", 1, RouteArguments.PERSIST_FOREVER);
            int slot = SlotHash.getSlot("test:{u:" + ns + ":moved}:link:chat");

            moveSlot(cluster, slot);

            assertThat(gateway.getLinkedPodNotCache(ns, "moved", "chat")).hasValue(1);
            assertThat(gateway.isFollowingLinkChanges()).as("a read nobody tracks makes the cache distrusted").isFalse();
            gateway.stopListeningForLinkChanges();
        }
    }

    /** Migrates the slot, with its keys, from the master that serves it to the next master. */
    private static void moveSlot(RedisCluster cluster, int slot) {
        List<RedisServer> masters = cluster.masters();
        int from = slot * masters.size() / SlotHash.SLOT_COUNT;
        RedisServer target = masters.get((from + 1) % masters.size());
        RedisClient client = RedisClient.create();
        try {
            RedisCommands<String, String> source = client.connect(StringCodec.UTF8,
                    RedisURI.create(masters.get(from).host(), masters.get(from).port())).sync();
            RedisCommands<String, String> destination = client.connect(StringCodec.UTF8,
                    RedisURI.create(target.host(), target.port())).sync();
            String sourceId = source.clusterMyId();
            String targetId = destination.clusterMyId();
            destination.clusterSetSlotImporting(slot, sourceId);
            source.clusterSetSlotMigrating(slot, targetId);
            List<String> keys = source.clusterGetKeysInSlot(slot, 1000);
            if (!keys.isEmpty()) {
                source.migrate(target.host(), target.port(), 0, 5000, MigrateArgs.Builder.keys(keys));
            }
            for (RedisServer master : masters) {
                client.connect(StringCodec.UTF8, RedisURI.create(master.host(), master.port())).sync()
                    .clusterSetSlotNode(slot, targetId);
            }
        }
        finally {
            client.shutdown();
        }
    }
}
