package io.statefulroute.core.state;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.lettuce.core.api.sync.RedisCommands;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.SkippedEntries;
import io.statefulroute.core.redis.SkippedEntries.Kind;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Pod hashes, link hashes and the change channel seeded with garbage through a raw
 * connection, as another version of the library or an operator with redis-cli could leave
 * them: every other pod stays routable, heartbeats go on, and the skips are counted.
 */
class TolerantReadingTest {

    private static final String NS = "prod";

    private static final String PODS = "test:{s:prod:chat}:pods";

    private RedisServer server;

    private TestRedis redis;

    private StatefulExecutor executor;

    private ServiceStateCache states;

    private StatefulRouteForClientDriver client;

    private RedisCommands<String, String> raw;

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
        this.executor = this.redis.executor();
        this.raw = this.redis.sync();
        this.states = new ServiceStateCache(this.executor, Duration.ofSeconds(5));
        this.client = new StatefulRouteForClientDriver(this.executor,
                new RouteInfoDriver(this.states, PodSelectionStrategy.ROUND_ROBIN.newSelector()),
                ClientOptions.defaults(NS));
    }

    @AfterEach
    void stop() {
        this.redis.close();
        this.server.close();
    }

    private long redisNow() {
        List<String> time = this.raw.time();
        return Long.parseLong(time.get(0)) * 1000 + Long.parseLong(time.get(1)) / 1000;
    }

    /**
     * A failover to a replica that missed the latest writes shows pod entries older than the
     * gateway has already seen. The newer entry stands as a whole: its time (the pod is not
     * dead) and its state (a drain the new primary lost is still a drain).
     */
    @Test
    void anOlderEntryThanOneSeenDoesNotUndoTheNewerState() {
        long now = redisNow();
        this.raw.hset(PODS, "0", now + ":DENY_NEW_CALL:0.5");
        this.raw.hset(PODS, "1", now + ":READY:0.5");
        ServiceView seen = this.states.reloadAsync(NS, "chat").join();
        assertThat(seen.pod(0).routingState()).isEqualTo(RoutingState.DENY_NEW_CALL);

        // what the promoted replica holds: pod 0's heartbeat from before it drained
        this.raw.hset(PODS, "0", (now - 3000) + ":READY:0.1");
        ServiceView afterFailover = this.states.reloadAsync(NS, "chat").join();

        assertThat(afterFailover.pod(0)).isEqualTo(seen.pod(0));
        for (int i = 0; i < 20; i++) {
            assertThat(this.client.computeLinkedPod(NS, "new-" + i, "chat")).as("new user %d", i).isEqualTo(1);
        }
    }

    @Test
    void garbagePodEntriesAreSkippedAndCountedWhileEveryOtherPodStaysRoutable() {
        this.executor.setServiceState(NS, "chat", 0, RoutingState.READY, 1);
        this.executor.setServiceState(NS, "chat", 1, RoutingState.READY, 1);
        long now = redisNow();
        // a newer version's entry: known fields first, then one this version does not know
        this.raw.hset(PODS, "7", now + ":READY:0.5:" + new PodAddress("http", "10.0.0.7", 8080).toEntryField()
                + ":5000,2000:12,100,,later:" + (now - 1000) + ",30000,1.0,0.1,later:zone%3Da");
        // an address that cannot be read: counted, and the pod still routes by index
        this.raw.hset(PODS, "9", now + ":READY:0.5:not%20an%20address");
        // user counts and capacities that cannot be read: counted, and the pods take users without a limit
        this.raw.hset(PODS, "11", now + ":READY:0.5:::many");
        this.raw.hset(PODS, "12", now + ":READY:0.5:::5,0,");
        this.raw.hset(PODS, "13", now + ":READY:0.5:::5,10,-1");
        this.raw.hset(PODS, "14", now + ":READY:0.5:::5,10");
        // a warm-up that cannot be read: counted, and the pod takes its full share at once
        this.raw.hset(PODS, "15", now + ":READY:0.5:::5:soon,30000,1.0,0.1");
        this.raw.hset(PODS, "2", now + ":QUARANTINED:0");
        this.raw.hset(PODS, "3", "no separator");
        this.raw.hset(PODS, "4", now + ":READY:lots");
        this.raw.hset(PODS, "5", now + ":READY:NaN");
        this.raw.hset(PODS, "6", "9".repeat(100_000) + ":READY:1");
        this.raw.hset(PODS, "8", now + ":READY:" + "9".repeat(400));
        this.raw.hset(PODS, "2147483647", now + ":READY:0");
        this.raw.hset(PODS, "pod-nine", now + ":READY:0");
        this.raw.hset(PODS, "10", "");

        ServiceView view = this.states.view(NS, "chat");

        assertThat(view.routablePods()).extracting(PodState::podIndex).containsExactly(0, 1, 7, 9, 11, 12, 13, 14, 15);
        assertThat(view.pod(7).loadScore()).isEqualTo(0.5);
        assertThat(view.pod(7).address()).isEqualTo(new PodAddress("http", "10.0.0.7", 8080));
        assertThat(view.pod(7).leaseTerms()).isEqualTo(new LeaseTerms(Duration.ofSeconds(5), Duration.ofSeconds(2)));
        assertThat(view.pod(7).users()).isEqualTo(12);
        assertThat(view.pod(7).capacity()).isEqualTo(PodCapacity.ofUsers(100));
        assertThat(view.pod(7).routableSinceMillis()).isEqualTo(now - 1000);
        assertThat(view.pod(7).warmUp()).isEqualTo(WarmUp.linear(Duration.ofSeconds(30)));
        assertThat(view.pod(15).users()).isEqualTo(5);
        assertThat(view.pod(15).warmUp()).isEqualTo(WarmUp.NONE);
        assertThat(view.pod(9).address()).isNull();
        assertThat(List.of(view.pod(11), view.pod(12), view.pod(13), view.pod(14))).allSatisfy((pod) -> {
            assertThat(pod.users()).isEqualTo(-1);
            assertThat(pod.capacity()).isEqualTo(PodCapacity.UNLIMITED);
        });
        SkippedEntries skipped = this.states.skippedEntries();
        assertThat(skipped.count(Kind.UNKNOWN_ROUTING_STATE)).isEqualTo(1);
        assertThat(skipped.count(Kind.MALFORMED_POD_ENTRY)).isEqualTo(14);
        for (int user = 0; user < 30; user++) {
            assertThat(this.client.computeLinkedPod(NS, "user-" + user, "chat")).isIn(0, 1, 7, 9, 11, 12, 13, 14, 15);
        }

        // heartbeats go on and leave what they did not write alone
        this.executor.setServiceState(NS, "chat", 0, RoutingState.DENY_NEW_CALL, 3);
        this.executor.setServiceState(NS, "chat", 1, RoutingState.READY, 2);
        assertThat(this.raw.hget(PODS, "3")).isEqualTo("no separator");
        this.states.refresh();
        ServiceView after = this.states.cachedView(NS, "chat");
        assertThat(after.routablePods()).extracting(PodState::podIndex).containsExactly(1, 7, 9, 11, 12, 13, 14, 15);
        assertThat(after.isAvailable(0)).isTrue();
        assertThat(skipped.count(Kind.UNKNOWN_ROUTING_STATE)).isEqualTo(2);
        assertThat(skipped.count(Kind.MALFORMED_POD_ENTRY)).isEqualTo(28);
    }

    @Test
    void garbageLinksReadAsNoLinkAreCountedAndOverwritten() {
        for (String service : List.of("chat", "game", "mail", "news")) {
            this.executor.setServiceState(NS, service, 0, RoutingState.READY, 0);
        }
        this.raw.set(link("alice", "chat"), "zero");
        this.raw.set(link("alice", "game"), "0:lease%3A42");
        this.raw.set(link("alice", "mail"), "70000");
        this.raw.set(link("alice", "news"), "3");
        this.raw.set(link("bob", "chat"), "-1");

        assertThat(this.executor.getLinkedPod(NS, "alice", "chat")).isEmpty();
        assertThat(this.executor.getLinkService(NS, "alice")).isEqualTo(Map.of("game", 0, "news", 3));
        assertThat(this.executor.batchGetLinkedPod(NS, List.of("alice", "bob", "carol"), "chat")).isEmpty();
        assertThat(this.executor.batchGetLinkedPod(NS, List.of("alice"), "news")).isEqualTo(Map.of(3, List.of("alice")));
        assertThat(this.states.skippedEntries().count(Kind.MALFORMED_LINK)).isEqualTo(1 + 2 + 2);

        // a garbage link is no link: routing links the user afresh; a newer version's field is kept until rewritten
        assertThat(this.client.computeLinkedPod(NS, "alice", "chat")).isZero();
        assertThat(this.client.computeLinkedPod(NS, "bob", "chat")).isZero();
        assertThat(this.raw.get(link("alice", "chat"))).isEqualTo("0");
        assertThat(this.executor.getLinkedPod(NS, "alice", "game")).hasValue(0);
        // link_if_absent parses links on its own (no helper): it must read them as every other script does
        LinkInfo kept = this.executor.setLinkedPodIfAbsent(NS, "alice", "game", 5, 60);
        assertThat(kept.created()).isFalse();
        assertThat(kept.podIndex()).isZero();
        assertThat(this.raw.get(link("alice", "game"))).isEqualTo("0:lease%3A42");
        assertThat(this.executor.setLinkedPodIfAbsent(NS, "alice", "mail", 5, 60).created()).isTrue();
        assertThat(this.raw.get(link("alice", "mail"))).isEqualTo("5");
        assertThat(this.executor.setLinkedPod(NS, "alice", "game", 1, RouteArguments.PERSIST_FOREVER)).hasValue(0);
        assertThat(this.raw.get(link("alice", "game"))).isEqualTo("1");
    }

    private static String link(String uid, String service) {
        return "test:{u:prod:" + uid + "}:link:" + service;
    }

    @Test
    void malformedNoticesAreCountedAndDroppedWhileValidOnesStillArrive() {
        this.executor.setServiceState(NS, "chat", 0, RoutingState.READY, 0);
        this.executor.setServiceState(NS, "chat", 1, RoutingState.READY, 0);
        this.client.listenForLinkChanges();
        this.client.checkLinkChanges().join();
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            this.client.checkLinkChanges().join();
            return this.client.isFollowingLinkChanges();
        });
        this.executor.setLinkedPod(NS, "alice", "chat", 0, RouteArguments.PERSIST_FOREVER);
        assertThat(this.client.computeLinkedPod(NS, "alice", "chat")).isZero();

        List<String> garbage = List.of("", "one-part", "two parts", "four parts are here", "bad %zz escape",
                "a\tb c", "%4 x y", "x".repeat(1_000_000));
        garbage.forEach((message) -> this.raw.publish("test:link-changes", message));
        this.executor.setLinkedPod(NS, "alice", "chat", 1, RouteArguments.PERSIST_FOREVER);

        await().atMost(Duration.ofSeconds(5)).until(() -> this.client.getLinkedInCache(NS, "alice", "chat").isEmpty());
        assertThat(this.client.computeLinkedPod(NS, "alice", "chat")).isEqualTo(1);
        assertThat(this.states.skippedEntries().count(Kind.MALFORMED_NOTICE)).isEqualTo(garbage.size());
        assertThat(this.client.isFollowingLinkChanges()).isTrue();
    }
}
