package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.statefulroute.core.FencedWriteException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.UserTakenException;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.PodPlacement;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceState;
import io.statefulroute.core.state.WarmUp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Every executor operation against a real Redis; subclasses pick the server (standalone
 * 7.x, embedded 6.2, 3-master cluster).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class StatefulExecutorContract {

    static final long FOREVER = RouteArguments.PERSIST_FOREVER;

    TestRedis redis;

    StatefulExecutor executor;

    String ns;

    abstract TestRedis startRedis();

    @BeforeAll
    void connect() {
        this.redis = startRedis();
        this.executor = this.redis.executor();
    }

    @AfterAll
    void disconnect() {
        this.redis.close();
    }

    @BeforeEach
    void freshNamespace() {
        this.ns = TestRedis.freshNamespace();
    }

    @Test
    void linkIfAbsentCreatesOnceThenReturnsTheExistingLink() {
        LinkInfo first = this.executor.setLinkedPodIfAbsent(this.ns, "u1", "chat", 2, 300);
        LinkInfo second = this.executor.setLinkedPodIfAbsent(this.ns, "u1", "chat", 5, 300);

        assertThat(first.created()).isTrue();
        assertThat(first.podIndex()).isEqualTo(2);
        assertThat(first.remainingMillis()).isBetween(299_000L, 300_000L);
        assertThat(second.created()).isFalse();
        assertThat(second.podIndex()).isEqualTo(2);
        assertThat(this.executor.getLinkedPod(this.ns, "u1", "chat")).hasValue(2);
    }

    /**
     * Every fenced write checks its fence where it lands, before writing anything: once Redis'
     * clock has reached it the write is refused with its clock and the fence, and nothing changes.
     */
    @Test
    void aWriteIsRefusedOnceItsFenceHasPassed() {
        long now = this.executor.heartbeatAsync(this.ns, "chat", 0, RoutingState.READY, 0, null, null).join();
        WriteFence passed = new WriteFence(now - 1);
        WriteFence ahead = new WriteFence(now + 60_000);
        this.executor.setLinkedPod(this.ns, "held", "chat", 1, FOREVER);
        List<Runnable> refused = List.of(
                () -> this.executor.setLinkedPodAsync(this.ns, "held", "chat", 2, FOREVER, passed).join(),
                () -> this.executor.trySetLinkedPodAsync(this.ns, "new", "chat", 2, FOREVER, passed).join(),
                () -> this.executor.compareAndSetLinkedPodAsync(this.ns, "held", "chat", 1, 2, FOREVER, passed).join(),
                () -> this.executor.handOffLinkedPodAsync(this.ns, "held", "chat", 1, 2, passed).join(),
                () -> this.executor.removeLinkedPodWithIdAsync(this.ns, "held", "chat", 1, 0, passed).join());
        for (Runnable write : refused) {
            assertThatThrownBy(write::run).hasCauseInstanceOf(FencedWriteException.class)
                .cause().satisfies((ex) -> {
                    FencedWriteException fenced = (FencedWriteException) ex;
                    assertThat(fenced.fenceMillis()).isEqualTo(now - 1);
                    assertThat(fenced.redisTimeMillis()).isGreaterThanOrEqualTo(now);
                });
        }
        assertThat(this.executor.getLinkedPod(this.ns, "held", "chat")).hasValue(1);
        assertThat(this.executor.getLinkedPod(this.ns, "new", "chat")).isEmpty();

        assertThat(this.executor.setLinkedPodAsync(this.ns, "held", "chat", 1, FOREVER, ahead).join()).hasValue(1);
        assertThat(this.executor.trySetLinkedPodAsync(this.ns, "new", "chat", 2, FOREVER, ahead).join().success())
            .isTrue();
        assertThat(this.executor.handOffLinkedPodAsync(this.ns, "held", "chat", 1, 2, ahead).join()).isTrue();
        assertThat(this.executor.compareAndSetLinkedPodAsync(this.ns, "gone", "chat", 3, 3, FOREVER, ahead).join()
            .created()).as("no link counts as expected").isTrue();
        assertThat(this.executor.removeLinkedPodWithIdAsync(this.ns, "held", "chat", 2, 0, ahead).join()).isTrue();
        assertThat(this.executor.getLinkedPod(this.ns, "held", "chat")).isEmpty();
    }

    /**
     * A fenced write decided before another pod was given the user (by a fenced write, which
     * stamps the link; strictly before, by the millisecond) is refused, and the other pod keeps
     * it; one decided after takes it; a new user's reservation (not stamped) blocks nobody.
     */
    @Test
    void aWriteDecidedBeforeAnotherPodWasGivenTheUserIsRefused() {
        long now = this.executor.heartbeatAsync(this.ns, "chat", 0, RoutingState.READY, 0, null, null).join();
        WriteFence decidedEarlier = new WriteFence(now + 60_000, now - 2);
        this.executor.setLinkedPodAsync(this.ns, "given", "chat", 2, FOREVER, new WriteFence(now + 60_000, now))
            .join();
        // a relink (fenced, temporary) gave "relinked" to pod 2 after the write below was decided
        this.executor.compareAndSetLinkedPodAsync(this.ns, "relinked", "chat", 5, 2, 300, new WriteFence(now + 60_000))
            .join();
        for (Runnable write : List.<Runnable>of(
                () -> this.executor.setLinkedPodAsync(this.ns, "given", "chat", 1, FOREVER, decidedEarlier).join(),
                () -> this.executor.trySetLinkedPodAsync(this.ns, "relinked", "chat", 1, FOREVER, decidedEarlier)
                    .join())) {
            assertThatThrownBy(write::run).hasCauseInstanceOf(UserTakenException.class)
                .cause().satisfies((ex) -> assertThat(((UserTakenException) ex).podIndex()).isEqualTo(2));
        }
        assertThat(this.executor.getLinkedPod(this.ns, "given", "chat")).hasValue(2);
        assertThat(this.executor.getLinkedPod(this.ns, "relinked", "chat")).hasValue(2);

        long later = this.executor.heartbeatAsync(this.ns, "chat", 0, RoutingState.READY, 0, null, null).join() + 1;
        assertThat(this.executor.setLinkedPodAsync(this.ns, "given", "chat", 1, FOREVER,
                new WriteFence(later + 60_000, later)).join()).as("decided after: a take").hasValue(2);
        this.executor.setLinkedPodIfAbsent(this.ns, "reserved", "chat", 3, 300);
        assertThat(this.executor.setLinkedPodAsync(this.ns, "reserved", "chat", 1, FOREVER, decidedEarlier).join())
            .hasValue(3);
    }

    /** A persistent link asked for again by its own pod is left as it is: no write, no notice. */
    @Test
    void aTrySetOfTheSamePersistentLinkWritesNothing() {
        this.executor.setLinkedPod(this.ns, "kept", "chat", 4, FOREVER);
        TrySetResult again = this.executor.trySetLinkedPod(this.ns, "kept", "chat", 4, FOREVER);
        assertThat(again).isEqualTo(new TrySetResult(true, 4));
        assertThat(this.executor.trySetLinkedPod(this.ns, "kept", "chat", 5, FOREVER)).isEqualTo(new TrySetResult(false, 4));
    }

    /** The identity names every primary's role, run id and replication id, and stays the same while nothing happens. */
    @Test
    void theRedisIdentityNamesEveryPrimaryAndStaysPut() {
        String identity = this.executor.redisIdentityAsync().join();
        assertThat(identity.split(", ")).allMatch((primary) -> primary.matches("master [0-9a-f]{40} [0-9a-f]{40}"));
        assertThat(this.executor.redisIdentityAsync().join()).isEqualTo(identity);
    }

    @Test
    void podZeroIsARealPodAndNoLinkIsEmpty() {
        assertThat(this.executor.getLinkedPod(this.ns, "nobody", "chat")).isEmpty();
        this.executor.setLinkedPod(this.ns, "u0", "chat", 0, FOREVER);
        assertThat(this.executor.getLinkedPod(this.ns, "u0", "chat")).hasValue(0);
        assertThat(this.executor.getLinkService(this.ns, "u0")).containsExactly(Map.entry("chat", 0));
    }

    @Test
    void anyExecutorListsEveryLinkOfAUserThroughTheNamespaceRegistry() {
        this.executor.setLinkedPodIfAbsent(this.ns, "u1", "chat", 2, 300);
        this.executor.setLinkedPod(this.ns, "u1", "game", 3, FOREVER);
        StatefulExecutor reader = this.redis.executor();

        assertThat(reader.getLinkService(this.ns, "u1")).containsOnly(Map.entry("chat", 2), Map.entry("game", 3));
        assertThat(reader.getLinkService(this.ns, "nobody")).isEmpty();
        assertThat(reader.getLinkService(TestRedis.freshNamespace(), "u1")).isEmpty();
    }

    @Test
    void aServiceWithoutHeartbeatOrLinkWrittenForLongerThanTheRetentionIsNoLongerListed() {
        StatefulExecutor shortRetention = this.redis.executor(Duration.ofSeconds(2), Duration.ofMillis(500));
        shortRetention.setLinkedPod(this.ns, "u1", "gone", 1, FOREVER);
        assertThat(shortRetention.getLinkService(this.ns, "u1")).containsExactly(Map.entry("gone", 1));

        await().atMost(Duration.ofSeconds(5)).until(() -> shortRetention.getLinkService(this.ns, "u1").isEmpty());
        shortRetention.setServiceState(this.ns, "chat", 0, RoutingState.READY, 0);
        shortRetention.setLinkedPod(this.ns, "u1", "chat", 0, FOREVER);

        assertThat(shortRetention.getLinkService(this.ns, "u1")).containsExactly(Map.entry("chat", 0));
        assertThat(shortRetention.getLinkedPod(this.ns, "u1", "gone")).as("the link itself stays").hasValue(1);
    }

    @Test
    void temporaryLinksExpireAndPersistentOnesDoNot() {
        this.executor.setLinkedPod(this.ns, "u1", "chat", 1, 1);
        this.executor.setLinkedPod(this.ns, "u1", "game", 3, FOREVER);
        assertThat(this.executor.getLinkService(this.ns, "u1")).containsOnly(Map.entry("chat", 1), Map.entry("game", 3));

        await().atMost(Duration.ofSeconds(5)).until(() -> this.executor.getLinkedPod(this.ns, "u1", "chat").isEmpty());

        assertThat(this.executor.getLinkedPod(this.ns, "u1", "game")).hasValue(3);
        assertThat(this.executor.getLinkService(this.ns, "u1")).containsExactly(Map.entry("game", 3));
        assertThat(this.executor.batchGetLinkedPod(this.ns, List.of("u1"), "chat")).isEmpty();
    }

    @Test
    void aUserWithOnlyTemporaryLinksLeavesNoKeyBehind() {
        this.executor.setLinkedPod(this.ns, "u1", "chat", 1, 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> this.executor.getLinkService(this.ns, "u1").isEmpty());
        // the key expires with its link, so a new link starts from nothing
        LinkInfo again = this.executor.setLinkedPodIfAbsent(this.ns, "u1", "chat", 4, 300);
        assertThat(again.created()).isTrue();
        assertThat(again.podIndex()).isEqualTo(4);
    }

    @Test
    void getLinkedPodIfPersistOnlySeesPersistentLinks() {
        this.executor.setLinkedPod(this.ns, "temp", "chat", 1, 300);
        this.executor.setLinkedPod(this.ns, "kept", "chat", 2, FOREVER);

        assertThat(this.executor.getLinkedPodIfPersist(this.ns, "temp", "chat")).isEmpty();
        assertThat(this.executor.getLinkedPodIfPersist(this.ns, "kept", "chat")).hasValue(2);
        assertThat(this.executor.getLinkAsync(this.ns, "kept", "chat").join()).get()
            .satisfies((link) -> assertThat(link.persistent()).isTrue());
    }

    @Test
    void setLinkedPodReplacesAndReturnsThePreviousPod() {
        assertThat(this.executor.setLinkedPod(this.ns, "u1", "chat", 1, 300)).isEmpty();
        assertThat(this.executor.setLinkedPod(this.ns, "u1", "chat", 2, FOREVER)).hasValue(1);
        assertThat(this.executor.getLinkedPodIfPersist(this.ns, "u1", "chat")).hasValue(2);
    }

    @Test
    void trySetReplacesAReservationButNotAPersistentLinkElsewhere() {
        this.executor.setLinkedPod(this.ns, "u1", "chat", 1, 300);
        assertThat(this.executor.trySetLinkedPod(this.ns, "u1", "chat", 2, FOREVER)).isEqualTo(new TrySetResult(true, 2));

        assertThat(this.executor.trySetLinkedPod(this.ns, "u1", "chat", 3, FOREVER)).isEqualTo(new TrySetResult(false, 2));
        assertThat(this.executor.getLinkedPod(this.ns, "u1", "chat")).hasValue(2);

        assertThat(this.executor.trySetLinkedPod(this.ns, "u1", "chat", 2, 300)).isEqualTo(new TrySetResult(true, 2));
        assertThat(this.executor.trySetLinkedPod(this.ns, "new", "chat", 7, 300)).isEqualTo(new TrySetResult(true, 7));
        assertThat(this.executor.getLinkService(this.ns, "u1")).containsExactly(Map.entry("chat", 2));
    }

    @Test
    void compareAndSetMovesOnlyFromTheExpectedPod() {
        this.executor.setLinkedPod(this.ns, "u1", "chat", 1, 300);

        LinkInfo refused = this.executor.compareAndSetLinkedPodAsync(this.ns, "u1", "chat", 9, 2, 300).join();
        assertThat(refused.created()).isFalse();
        assertThat(refused.podIndex()).isEqualTo(1);

        LinkInfo moved = this.executor.compareAndSetLinkedPodAsync(this.ns, "u1", "chat", 1, 2, 300).join();
        assertThat(moved.created()).isTrue();
        assertThat(moved.podIndex()).isEqualTo(2);
        assertThat(this.executor.getLinkedPod(this.ns, "u1", "chat")).hasValue(2);
    }

    @Test
    void removeWithIdIsCompareAndDelete() {
        this.executor.setLinkedPod(this.ns, "u1", "chat", 1, FOREVER);
        this.executor.setLinkedPod(this.ns, "u1", "game", 4, FOREVER);

        assertThat(this.executor.removeLinkedPodWithId(this.ns, "u1", "chat", 2, 0)).isFalse();
        assertThat(this.executor.getLinkedPod(this.ns, "u1", "chat")).hasValue(1);

        assertThat(this.executor.removeLinkedPodWithId(this.ns, "u1", "chat", 1, 0)).isTrue();
        assertThat(this.executor.getLinkedPod(this.ns, "u1", "chat")).isEmpty();
        assertThat(this.executor.getLinkService(this.ns, "u1")).containsExactly(Map.entry("game", 4));
        assertThat(this.executor.removeLinkedPodWithId(this.ns, "u1", "chat", 1, 0)).isFalse();
    }

    @Test
    void removeReturnsThePodAndGraceTurnsALinkTemporary() {
        this.executor.setLinkedPod(this.ns, "u1", "chat", 3, FOREVER);
        this.executor.setLinkedPod(this.ns, "u2", "chat", 5, FOREVER);

        assertThat(this.executor.removeLinkedPod(this.ns, "u1", "chat", 0)).hasValue(3);
        assertThat(this.executor.removeLinkedPod(this.ns, "u1", "chat", 0)).isEmpty();
        assertThat(this.executor.getLinkService(this.ns, "u1")).isEmpty();

        assertThat(this.executor.removeLinkedPod(this.ns, "u2", "chat", 1)).hasValue(5);
        assertThat(this.executor.getLinkedPod(this.ns, "u2", "chat")).hasValue(5);
        assertThat(this.executor.getLinkedPodIfPersist(this.ns, "u2", "chat")).isEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> this.executor.getLinkService(this.ns, "u2").isEmpty());
    }

    @Test
    void batchGetGroupsUsersByPod() {
        for (int i = 0; i < 30; i++) {
            this.executor.setLinkedPod(this.ns, "u" + i, "chat", i % 3, (i % 2 == 0) ? FOREVER : 300);
        }
        List<String> users = new java.util.ArrayList<>();
        for (int i = 0; i < 35; i++) {
            users.add("u" + i);
        }

        Map<Integer, List<String>> byPod = this.executor.batchGetLinkedPod(this.ns, users, "chat");

        assertThat(byPod).containsOnlyKeys(0, 1, 2);
        assertThat(byPod.get(0)).hasSize(10).contains("u0", "u3", "u27");
        assertThat(byPod.values().stream().mapToInt(List::size).sum()).isEqualTo(30);
        assertThat(this.executor.batchGetLinkedPod(this.ns, List.of(), "chat")).isEmpty();
    }

    @Test
    void heartbeatsPublishPodStatesStampedWithRedisTime() {
        this.executor.setServiceState(this.ns, "chat", 0, RoutingState.READY, 1.5);
        this.executor.setServiceState(this.ns, "chat", 2, RoutingState.DENY_NEW_CALL, 7);
        this.executor.heartbeatAsync(this.ns, "chat", 0, RoutingState.READY, 2.5, "rooms=3", null).join();

        ServiceState state = this.executor.getServiceState(this.ns, "chat");

        assertThat(state.pods()).extracting(PodState::podIndex).containsExactly(0, 2);
        assertThat(state.pod(0)).get().satisfies((pod) -> {
            assertThat(pod.loadScore()).isEqualTo(2.5);
            assertThat(pod.routingState()).isEqualTo(RoutingState.READY);
            assertThat(state.readTimeMillis() - pod.updateTimeMillis()).isBetween(0L, 2_000L);
        });
        assertThat(state.pod(2)).get().extracting(PodState::routingState).isEqualTo(RoutingState.DENY_NEW_CALL);
        assertThat(this.executor.getWorkloadState(this.ns, List.of("chat", "none"))).containsOnlyKeys("chat");
        assertThat(this.executor.getWorkloadState(this.ns, Set.of("chat")).get("chat").value()).isEqualTo("rooms=3");
    }

    @Test
    void podsAdvertiseAddressesAndEntriesOfOtherVersionsStillRead() {
        PodAddress address = new PodAddress("http", "10.1.2.3", 8080, Map.of("zone", "eu-1a"));
        this.executor.heartbeatAsync(this.ns, "chat", 0, RoutingState.READY, 1, null, address).join();
        this.executor.setServiceState(this.ns, "chat", 1, RoutingState.READY, 2);
        long now = this.executor.getServiceState(this.ns, "chat").readTimeMillis();
        // a later version appends a field after the lease terms; readers ignore what they do not know
        hset(new RouteKeys(((RedisStatefulExecutor) this.executor).keyPrefix()).pods(this.ns, "chat"), "2",
                now + ":DENY_NEW_CALL:3.5:" + address.toEntryField() + ":5000,2000:7,100,:later%3Afield");

        ServiceState state = this.executor.getServiceState(this.ns, "chat");

        assertThat(state.pod(0)).get().extracting(PodState::address).isEqualTo(address);
        assertThat(state.pod(1)).get().satisfies((pod) -> {
            assertThat(pod.address()).isNull();
            assertThat(pod.loadScore()).isEqualTo(2);
        });
        assertThat(state.pod(2)).get().satisfies((pod) -> {
            assertThat(pod.address()).isEqualTo(address);
            assertThat(pod.loadScore()).isEqualTo(3.5);
            assertThat(pod.routingState()).isEqualTo(RoutingState.DENY_NEW_CALL);
            assertThat(pod.users()).isEqualTo(7);
            assertThat(pod.capacity()).isEqualTo(PodCapacity.ofUsers(100));
        });
    }

    @Test
    void heartbeatsPublishTheUsersAPodHoldsAndItsCapacity() {
        this.executor.heartbeatAsync(this.ns, "chat", 0, RoutingState.READY, 1, null, null, null,
                new PodPlacement(42, new PodCapacity(100, 80.5))).join();
        this.executor.heartbeatAsync(this.ns, "chat", 1, RoutingState.READY, 1, null, null, null,
                new PodPlacement(3, PodCapacity.UNLIMITED)).join();
        this.executor.heartbeatAsync(this.ns, "chat", 2, RoutingState.READY, 1, null, null, null,
                new PodPlacement(0, new PodCapacity(Integer.MAX_VALUE, 9))).join();
        this.executor.setServiceState(this.ns, "chat", 3, RoutingState.READY, 1);

        ServiceState state = this.executor.getServiceState(this.ns, "chat");

        assertThat(state.pods()).extracting(PodState::users).containsExactly(42, 3, 0, -1);
        assertThat(state.pods()).extracting(PodState::capacity).containsExactly(new PodCapacity(100, 80.5),
                PodCapacity.UNLIMITED, new PodCapacity(Integer.MAX_VALUE, 9), PodCapacity.UNLIMITED);
        // the wire format older readers skip: fields after the lease terms, empty ones before it
        String pods = new RouteKeys(((RedisStatefulExecutor) this.executor).keyPrefix()).pods(this.ns, "chat");
        assertThat(hget(pods, "0")).endsWith(":READY:1.0:::42,100,80.5");
        assertThat(hget(pods, "1")).endsWith(":READY:1.0:::3");
        assertThat(hget(pods, "2")).endsWith(":READY:1.0:::0,,9.0");
        assertThat(hget(pods, "3")).endsWith(":READY:1.0");
    }

    @Test
    void heartbeatsPublishWhenAPodBecameRoutableOnRedisClockWithItsWarmUp() {
        WarmUp warmUp = new WarmUp(Duration.ofSeconds(30), 2, 0.2);
        long stamped = this.executor.heartbeatAsync(this.ns, "chat", 0, RoutingState.READY, 1, null, null, null,
                new PodPlacement(4, PodCapacity.UNLIMITED, 1_500, warmUp)).join();
        this.executor.heartbeatAsync(this.ns, "chat", 1, RoutingState.DENY_NEW_CALL, 1, null, null, null,
                new PodPlacement(4, PodCapacity.UNLIMITED, -1, warmUp)).join();

        ServiceState state = this.executor.getServiceState(this.ns, "chat");

        assertThat(state.pod(0)).get().satisfies((pod) -> {
            assertThat(pod.routableSinceMillis()).isEqualTo(stamped - 1_500);
            assertThat(pod.warmUp()).isEqualTo(warmUp);
            assertThat(pod.warmUpEndsMillis()).isEqualTo(stamped - 1_500 + 30_000);
            assertThat(pod.users()).isEqualTo(4);
        });
        assertThat(state.pod(1)).get().satisfies((pod) -> {
            assertThat(pod.routableSinceMillis()).as("not routable: no warm-up").isEqualTo(-1);
            assertThat(pod.warmUp()).isEqualTo(WarmUp.NONE);
        });
        String pods = new RouteKeys(((RedisStatefulExecutor) this.executor).keyPrefix()).pods(this.ns, "chat");
        assertThat(hget(pods, "0")).endsWith(":READY:1.0:::4:" + (stamped - 1_500) + ",30000,2.0,0.2");
        assertThat(hget(pods, "1")).endsWith(":DENY_NEW_CALL:1.0:::4");
    }


    private void hset(String key, String field, String value) {
        raw().hset(key, field, value);
    }

    private String hget(String key, String field) {
        return raw().hget(key, field);
    }

    /** Commands on a connection of its own, standalone or cluster. */
    private RedisClusterCommands<String, String> raw() {
        StatefulConnection<String, String> connection = this.redis.connect();
        return (connection instanceof StatefulRedisClusterConnection<String, String> cluster) ? cluster.sync()
                : ((StatefulRedisConnection<String, String>) connection).sync();
    }

    @Test
    void workloadStateKeepsColonsAndUnicode() {
        this.executor.setWorkloadState(this.ns, "chat", "mode:peak:été");
        assertThat(this.executor.getWorkloadState(this.ns, List.of("chat")).get("chat").value()).isEqualTo("mode:peak:été");
    }

    @Test
    void idsWithBracesColonsAndUnicodeNeverCollide() {
        String[] uids = { "a:b", "a", "a}b", "{a", "a%3Ab", "ü", "%C3%BC", "a b", "😀", "a.b" };
        for (int i = 0; i < uids.length; i++) {
            this.executor.setLinkedPod(this.ns, uids[i], "s:{x}", i, FOREVER);
        }
        for (int i = 0; i < uids.length; i++) {
            assertThat(this.executor.getLinkedPod(this.ns, uids[i], "s:{x}")).as(uids[i]).hasValue(i);
            assertThat(this.executor.getLinkService(this.ns, uids[i])).as(uids[i]).containsExactly(Map.entry("s:{x}", i));
        }
        assertThat(this.executor.getLinkedPod(this.ns + ":a", "b", "s:{x}")).isEqualTo(OptionalInt.empty());
    }
}
