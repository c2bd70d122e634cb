package io.statefulroute.core.redis;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * Seeded random operation sequences over hostile ids, checked step by step against a plain
 * in-memory model of links. A failure names its seed; rerun it with {@code -Dseed=N}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LinkModelPropertyTest {

    private static final String[] IDS = { "a", "b", "a:b", "a}b", "{a", "a b", "ü", "%C3%BC", "😀", "a.b", "a%3Ab",
        "x".repeat(RouteArguments.MAX_ID_LENGTH) };

    private static final long TEMPORARY = 300;

    private static final long FOREVER = RouteArguments.PERSIST_FOREVER;

    private TestRedis redis;

    private StatefulExecutor executor;

    @BeforeAll
    void connect() {
        this.redis = TestRedis.on(RedisServers.shared());
        this.executor = this.redis.executor();
    }

    @AfterAll
    void close() {
        this.redis.close();
    }

    private record Link(int pod, boolean persistent) {
    }

    @RepeatedTest(20)
    void operationSequencesMatchTheModel() {
        long seed = Long.getLong("seed", System.nanoTime());
        try {
            runSequence(new Random(seed), TestRedis.freshNamespace() + IDS[(int) (seed & 7)]);
        }
        catch (AssertionError ex) {
            fail("seed " + seed + ": " + ex.getMessage(), ex);
        }
    }

    private void runSequence(Random random, String ns) {
        Map<List<String>, Link> model = new HashMap<>();
        for (int step = 0; step < 150; step++) {
            String uid = IDS[random.nextInt(IDS.length)];
            String service = IDS[random.nextInt(4)];
            int pod = random.nextInt(4);
            List<String> key = List.of(uid, service);
            Link current = model.get(key);
            switch (random.nextInt(7)) {
                case 0 -> {
                    boolean persist = random.nextBoolean();
                    OptionalInt previous = this.executor.setLinkedPod(ns, uid, service, pod, persist ? FOREVER : TEMPORARY);
                    assertThat(previous).isEqualTo(podOf(current));
                    model.put(key, new Link(pod, persist));
                }
                case 1 -> {
                    boolean persist = random.nextBoolean();
                    TrySetResult result = this.executor.trySetLinkedPod(ns, uid, service, pod, persist ? FOREVER : TEMPORARY);
                    boolean refused = current != null && current.persistent() && current.pod() != pod;
                    assertThat(result).isEqualTo(new TrySetResult(!refused, refused ? current.pod() : pod));
                    if (!refused) {
                        model.put(key, new Link(pod, persist));
                    }
                }
                case 2 -> {
                    LinkInfo link = this.executor.setLinkedPodIfAbsent(ns, uid, service, pod, TEMPORARY);
                    assertThat(link.created()).isEqualTo(current == null);
                    assertThat(link.podIndex()).isEqualTo((current == null) ? pod : current.pod());
                    model.putIfAbsent(key, new Link(pod, false));
                }
                case 3 -> {
                    int expected = random.nextInt(4);
                    LinkInfo link = this.executor.compareAndSetLinkedPodAsync(ns, uid, service, expected, pod, TEMPORARY).join();
                    boolean moves = current == null || current.pod() == expected;
                    assertThat(link.created()).isEqualTo(moves);
                    if (moves) {
                        model.put(key, new Link(pod, false));
                    }
                }
                case 4 -> {
                    assertThat(this.executor.removeLinkedPod(ns, uid, service, 0)).isEqualTo(podOf(current));
                    model.remove(key);
                }
                case 5 -> {
                    boolean removes = current != null && current.pod() == pod;
                    assertThat(this.executor.removeLinkedPodWithId(ns, uid, service, pod, 0)).isEqualTo(removes);
                    if (removes) {
                        model.remove(key);
                    }
                }
                default -> {
                    int from = random.nextInt(4);
                    boolean moves = current != null && current.pod() == from;
                    assertThat(this.executor.handOffLinkedPod(ns, uid, service, from, pod)).isEqualTo(moves);
                    if (moves) {
                        model.put(key, new Link(pod, true));
                    }
                }
            }
        }
        for (String uid : IDS) {
            Map<String, Integer> expected = new HashMap<>();
            model.forEach((key, link) -> {
                if (key.get(0).equals(uid)) {
                    expected.put(key.get(1), link.pod());
                }
            });
            assertThat(this.executor.getLinkService(ns, uid)).as("links of %s", uid).isEqualTo(expected);
            for (int s = 0; s < 4; s++) {
                Link link = model.get(List.of(uid, IDS[s]));
                assertThat(this.executor.getLinkedPodIfPersist(ns, uid, IDS[s]))
                    .isEqualTo((link != null && link.persistent()) ? OptionalInt.of(link.pod()) : OptionalInt.empty());
            }
        }
    }

    private static OptionalInt podOf(Link link) {
        return (link != null) ? OptionalInt.of(link.pod()) : OptionalInt.empty();
    }

    /** Random invalid arguments: each is rejected with its name, before Redis is asked anything. */
    @Test
    void randomBadInputIsRejectedBeforeRedis() {
        long seed = Long.getLong("seed", System.nanoTime());
        Random random = new Random(seed);
        String[] badIds = { null, "", " ", "\t\n", "x".repeat(RouteArguments.MAX_ID_LENGTH + 1), "y".repeat(1 << 20) };
        int[] badPods = { -1, Integer.MIN_VALUE, RouteArguments.MAX_POD_INDEX + 1, Integer.MAX_VALUE };
        long[] badTtls = { 0, -2, Long.MIN_VALUE, RouteArguments.MAX_TTL_SECONDS + 1 };
        for (int i = 0; i < 200; i++) {
            String badId = badIds[random.nextInt(badIds.length)];
            int badPod = badPods[random.nextInt(badPods.length)];
            long badTtl = badTtls[random.nextInt(badTtls.length)];
            switch (random.nextInt(5)) {
                case 0 -> assertRejected(seed, "uid", () -> this.executor.setLinkedPodIfAbsent("ns", badId, "svc", 1, 300));
                case 1 -> assertRejected(seed, "namespace", () -> this.executor.getLinkService(badId, "u"));
                case 2 -> assertRejected(seed, "service", () -> this.executor.removeLinkedPod("ns", "u", badId, 0));
                case 3 -> assertRejected(seed, "podIndex", () -> this.executor.setLinkedPod("ns", "u", "svc", badPod, 300));
                default -> assertRejected(seed, "persistSeconds", () -> this.executor.trySetLinkedPod("ns", "u", "svc", 1, badTtl));
            }
        }
        assertThat(this.executor.getLinkService("ns", "u")).isEmpty();
    }

    private static void assertRejected(long seed, String argument, Runnable call) {
        assertThatThrownBy(call::run).as("seed %d", seed).isInstanceOf(InvalidRouteArgumentException.class)
            .extracting((ex) -> ((InvalidRouteArgumentException) ex).getArgument()).isEqualTo(argument);
    }
}
