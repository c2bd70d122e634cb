package io.statefulroute.core.link;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.lettuce.core.api.sync.RedisCommands;
import io.statefulroute.core.GatedExecutor;
import io.statefulroute.core.LostUsers;
import io.statefulroute.core.Notices;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.TrackingClients;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Notices by Redis client tracking: the gateways' link reads are tracked, so a change reaches
 * only the gateways that read the user, with the same guarantees as the channel.
 */
class TrackingLinkChangeNoticesTest extends LinkChangeNoticesContract {

    @Override
    TestRedis startRedis() {
        // a server of its own: a test here kills connections
        RedisServer server = RedisServers.standalone().start();
        return TestRedis.on(server).owning(server);
    }

    @Override
    StatefulExecutor gatewayExecutor() {
        return this.redis.trackingExecutor();
    }

    @Override
    boolean everyGatewayHearsEveryChange() {
        return false;
    }

    /** 8 gateways, each caching its own users: every change reaches exactly the one that cached the user. */
    @Test
    void eachChangeReachesOnlyTheGatewayThatReadTheUser() {
        List<StatefulRouteForClientDriver> eight = new ArrayList<>();
        for (int g = 0; g < 8; g++) {
            eight.add(gatewayFollowingChanges());
        }
        StatefulRouteForServerDriver pod1 = pod(1);
        for (int i = 0; i < 80; i++) {
            pod1.setLinkedPod("eight-" + i, FOREVER);
            assertThat(eight.get(i % 8).computeLinkedPod(this.ns, "eight-" + i, "chat")).isEqualTo(1);
        }
        for (int i = 0; i < 80; i++) {
            assertThat(pod1.handOff("eight-" + i, 2)).isTrue();
        }
        await().atMost(Duration.ofSeconds(5))
            .until(() -> eight.stream().allMatch((gateway) -> gateway.noticeStats().evicted() == 10));
        for (StatefulRouteForClientDriver gateway : eight) {
            assertThat(gateway.noticeStats().received()).as("receipts of one gateway").isEqualTo(10);
            assertThat(gateway.noticeStats().idle()).isZero();
            gateway.stopListeningForLinkChanges();
        }
        assertThat(eight.get(3).computeLinkedPod(this.ns, "eight-3", "chat")).isEqualTo(2);
    }

    /**
     * Redis forgets a client's tracking when its connection drops, and Lettuce reconnects
     * without it: a change then pushes nothing. The gateway's periodic check must find out,
     * distrust its cache, turn tracking on again and start over, so the moved user is routed
     * to its new pod within the fallback bound, and later changes are heard again.
     */
    @Test
    void aLostTrackingConnectionIsFoundAndTheCacheStartsOver() {
        StatefulRouteForClientDriver gateway = this.gateways.get(0);
        pod(1).setLinkedPod("dropped", FOREVER);
        assertThat(gateway.computeLinkedPod(this.ns, "dropped", "chat")).isEqualTo(1);

        killTrackingConnections();
        this.podSide.setLinkedPod(this.ns, "dropped", "chat", 2, FOREVER);

        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> {
            gateway.checkLinkChanges();
            return gateway.computeLinkedPod(this.ns, "dropped", "chat") == 2 && gateway.isFollowingLinkChanges();
        });
        long evicted = gateway.noticeStats().evicted();
        assertThat(gateway.computeLinkedPod(this.ns, "dropped", "chat")).isEqualTo(2);
        this.podSide.setLinkedPod(this.ns, "dropped", "chat", 0, FOREVER);
        await().atMost(Duration.ofSeconds(2)).until(() -> gateway.noticeStats().evicted() > evicted);
        assertThat(gateway.computeLinkedPod(this.ns, "dropped", "chat")).isEqualTo(0);
    }

    /**
     * A read answered on a tracking connection that then drops: its key is not tracked on the
     * new connection, and a probe may come back (and the cache be trusted again) before the
     * read's caller caches it. Here the reply is held until that happened: the link must not be
     * cached, or the gateway would route the user to its old pod for the cache TTL after a move.
     */
    @Test
    void aReadAnsweredBeforeTrackingWasLostIsNotCachedAfterwards() throws Exception {
        GatedExecutor gated = GatedExecutor.around(gatewayExecutor());
        StatefulRouteForClientDriver gateway = gatewayFollowingChanges(gated.executor());
        pod(1).setLinkedPod("straddling", FOREVER);
        GatedExecutor.Gate reply = gated.holdNextReplyOfAnyCall("getLinkAsync");
        CompletableFuture<OptionalInt> read = gateway.getLinkedPodAsync(this.ns, "straddling", "chat");
        reply.awaitArrival(Duration.ofSeconds(5));

        killTrackingConnections();
        // the reconnect is seen on the client's I/O thread; only this test's checks bring trust back
        await().atMost(Duration.ofSeconds(10)).until(() -> !gateway.isFollowingLinkChanges());
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
            gateway.checkLinkChanges();
            return gateway.isFollowingLinkChanges();
        });
        reply.release();
        assertThat(read.get(5, TimeUnit.SECONDS)).hasValue(1);

        this.podSide.setLinkedPod(this.ns, "straddling", "chat", 2, FOREVER);
        assertThat(gateway.getLinkedPod(this.ns, "straddling", "chat")).hasValue(2);
        gateway.stopListeningForLinkChanges();
    }

    /**
     * A link the gateway created is not tracked for it: Redis tracks what a client reads, and
     * the gateway wrote the key. So it is not cached either; the user's next call reads it,
     * tracked, and caches it. A move right after the creation (which this gateway could not
     * hear of) is routed at once, and the next move is heard.
     */
    @Test
    void aLinkTheGatewayCreatedIsReadAtTheNextCallAndFollowedFromThen() {
        StatefulRouteForClientDriver gateway = this.gateways.get(0);
        int created = gateway.computeLinkedPod(this.ns, "fresh", "chat");
        int moved = (created == 1) ? 2 : 1;

        this.podSide.setLinkedPod(this.ns, "fresh", "chat", moved, FOREVER);
        assertThat(gateway.computeLinkedPod(this.ns, "fresh", "chat")).as("routed after a move it did not hear of")
            .isEqualTo(moved);
        assertThat(gateway.getLinkedInCache(this.ns, "fresh", "chat")).hasValue(moved);

        long evicted = gateway.noticeStats().evicted();
        this.podSide.setLinkedPod(this.ns, "fresh", "chat", created, FOREVER);
        await().atMost(Duration.ofSeconds(2)).until(() -> gateway.noticeStats().evicted() > evicted);
        assertThat(gateway.computeLinkedPod(this.ns, "fresh", "chat")).isEqualTo(created);
    }

    /** Once every client tracks, nothing needs the channel: a writer that publishes nothing still evicts. */
    @Test
    void noChannelIsNeeded() throws Exception {
        List<String> onTheChannel = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (RedisStatefulExecutor quiet = RedisStatefulExecutor.builder()
            .connection(this.redis.connect())
            .keyPrefix("test")
            .publishChanges(false)
            .build();
                AutoCloseable channel = this.podSide.subscribeLinkChanges(Notices.uids(onTheChannel::add))) {
            StatefulRouteForClientDriver gateway = this.gateways.get(0);
            quiet.setLinkedPod(this.ns, "quiet", "chat", 1, FOREVER);
            assertThat(gateway.computeLinkedPod(this.ns, "quiet", "chat")).isEqualTo(1);
            long evicted = gateway.noticeStats().evicted();

            quiet.setLinkedPod(this.ns, "quiet", "chat", 2, FOREVER);

            await().atMost(Duration.ofSeconds(2)).until(() -> gateway.noticeStats().evicted() > evicted);
            assertThat(gateway.computeLinkedPod(this.ns, "quiet", "chat")).isEqualTo(2);
            assertThat(onTheChannel).isEmpty();
        }
    }

    /** A pod whose link writes are tracked hears when another writer takes a user it holds. */
    @Test
    void aTrackingPodLearnsWhichUsersItLost() {
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(this.redis.trackingExecutor(),
                new ServerOptions(new PodIdentity(this.ns, "chat", 1), 0, Duration.ZERO));
        Set<String> lost = LostUsers.of(pod);
        pod.start();
        pod.setLinkedPod("kept", FOREVER);
        pod.setLinkedPod("taken", FOREVER);
        pod.followLinkChanges();

        this.podSide.setLinkedPod(this.ns, "taken", "chat", 2, FOREVER);

        await().atMost(Duration.ofSeconds(5)).until(() -> lost.contains("taken"));
        assertThat(lost).containsExactly("taken");
        pod.stop();
    }

    /**
     * One process, gateway and pod on one executor, as the starter wires a pod: Redis reports no
     * client's own writes to it (NOLOOP), yet the gateway must not keep routing a user its own pod
     * handed off; on the channel it hears its own changes like any other.
     */
    @Test
    void aGatewayHearsOfTheChangesItsOwnPodMakes() {
        StatefulExecutor shared = this.redis.trackingExecutor();
        StatefulRouteForClientDriver gateway = gatewayFollowingChanges(shared);
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(shared,
                new ServerOptions(new PodIdentity(this.ns, "chat", 1), 0, Duration.ZERO));
        pod.start();
        pod.setLinkedPod("handed", FOREVER);
        assertThat(gateway.computeLinkedPod(this.ns, "handed", "chat")).isEqualTo(1);

        assertThat(pod.handOff("handed", 2)).isTrue();

        assertThat(gateway.getLinkedInCache(this.ns, "handed", "chat")).isEmpty();
        assertThat(gateway.computeLinkedPod(this.ns, "handed", "chat")).isEqualTo(2);
        gateway.stopListeningForLinkChanges();
        pod.stop();
    }

    /**
     * A dropped connection loses its tracking, and Lettuce reconnects it at once, before anyone
     * sees it down; a pod sends nothing on it for a while. Tracking must come back by itself and
     * the pod's users be read tracked again, or the pod would never hear of the users taken from
     * it afterwards: here one taken right after, and one after that. The pod's lease outlasts
     * the test, so only a notice can tell it (no heartbeat, no lapse, no reconcile of its own).
     */
    @Test
    void aTrackingPodKeepsHearingOfItsUsersAfterItsConnectionDropped() {
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(this.redis.trackingExecutor(),
                new ServerOptions(new PodIdentity(this.ns, "chat", 1), 0, Duration.ZERO)
                    .withLease(Duration.ofSeconds(60), Duration.ofSeconds(1), Duration.ofMillis(200)));
        Set<String> lost = LostUsers.of(pod);
        pod.start();
        pod.setLinkedPod("first", FOREVER);
        pod.setLinkedPod("second", FOREVER);
        pod.followLinkChanges();
        await().atMost(Duration.ofSeconds(5)).until(() -> pod.owns("first") && pod.owns("second"));
        long tracking = trackingClients();

        killTrackingConnections();
        await().atMost(Duration.ofSeconds(10)).until(() -> trackingClients() == tracking);
        this.podSide.setLinkedPod(this.ns, "first", "chat", 2, FOREVER);
        await().atMost(Duration.ofSeconds(5)).until(() -> lost.contains("first"));
        this.podSide.setLinkedPod(this.ns, "second", "chat", 2, FOREVER);

        await().atMost(Duration.ofSeconds(5)).until(() -> lost.contains("second"));
        assertThat(lost).containsExactlyInAnyOrder("first", "second");
        pod.stop();
    }

    /**
     * A write ends Redis' tracking of the key for every client, the writer too: a script whose
     * result its caller caches must leave the key tracked for it, whatever it wrote last (here
     * the key's expiry: a reservation persisted by its pod, a relink to a temporary link).
     */
    @Test
    void linksWrittenByTheirTrackingClientStayTracked() throws Exception {
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(this.redis.trackingExecutor(),
                new ServerOptions(new PodIdentity(this.ns, "chat", 1), 0, Duration.ZERO));
        Set<String> lost = LostUsers.of(pod);
        pod.followLinkChanges();
        pod.start();
        StatefulExecutor gateway = this.redis.trackingExecutor();
        Set<String> heard = ConcurrentHashMap.newKeySet();
        try (AutoCloseable notices = gateway.subscribeLinkChanges(Notices.uids(heard::add))) {
            // a gateway's reservation (the key expires with it), persisted by its pod
            this.podSide.setLinkedPodIfAbsent(this.ns, "reserved", "chat", 1, 300);
            pod.setLinkedPod("reserved", FOREVER);
            // a persistent link moved by this gateway to a temporary one
            this.podSide.setLinkedPod(this.ns, "relinked", "chat", 3, FOREVER);
            assertThat(gateway.compareAndSetLinkedPodAsync(this.ns, "relinked", "chat", 3, 2, 300).join().created())
                .isTrue();

            this.podSide.setLinkedPod(this.ns, "reserved", "chat", 2, FOREVER);
            this.podSide.setLinkedPod(this.ns, "relinked", "chat", 0, FOREVER);

            await().atMost(Duration.ofSeconds(5)).until(() -> lost.contains("reserved") && heard.contains("relinked"));
        }
        finally {
            pod.stop();
        }
    }

    /** Connections to every master, for administration. */
    List<RedisCommands<String, String>> masters() {
        return List.of(this.redis.sync());
    }

    /** Connections with client tracking on, on every master. */
    private long trackingClients() {
        return masters().stream().mapToLong(TrackingClients::count).sum();
    }

    /** Kills every connection that has client tracking on, on every master. */
    private void killTrackingConnections() {
        int killed = masters().stream().mapToInt(TrackingClients::kill).sum();
        assertThat(killed).as("tracking connections killed").isPositive();
    }
}
