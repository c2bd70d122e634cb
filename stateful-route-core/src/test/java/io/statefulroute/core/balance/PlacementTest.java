package io.statefulroute.core.balance;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.statefulroute.core.PodsAtCapacityException;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;
import io.statefulroute.core.state.TestViews;
import io.statefulroute.core.state.WarmUp;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The placement steps over made-up views: which pods the selector is offered for a new user.
 * The selector here records what it is offered and takes the first pod.
 */
class PlacementTest {

    private static final long NOW = 1_700_000_000_000L;

    private final List<List<PodState>> offered = new ArrayList<>();

    private final PodSelector first = (service, pods) -> {
        this.offered.add(pods);
        return pods.get(0);
    };

    private static PodState pod(int index, String zone, double load, int users, PodCapacity capacity) {
        PodAddress address = new PodAddress("http", "10.0.0." + (index + 1), 8080,
                (zone != null) ? Map.of(PodAddress.ZONE, zone) : Map.of());
        return new PodState(index, load, RoutingState.READY, NOW, address, null, users, capacity);
    }

    private static PodState pod(int index, String zone) {
        return pod(index, zone, 0, 0, PodCapacity.UNLIMITED);
    }

    private RouteInfoDriver gateway(ZonePreference zones) {
        return new RouteInfoDriver(new ServiceStateCache(noRedis(), Duration.ofSeconds(5)), this.first, zones);
    }

    /** Every test hands its view over: nothing reads Redis. */
    private static StatefulExecutor noRedis() {
        return (StatefulExecutor) Proxy.newProxyInstance(StatefulExecutor.class.getClassLoader(),
                new Class<?>[] { StatefulExecutor.class }, (proxy, method, args) -> {
                    throw new UnsupportedOperationException("no Redis here: " + method.getName());
                });
    }

    private List<Integer> offeredFor(RouteInfoDriver gateway, ServiceView view) {
        gateway.select(view);
        return this.offered.get(this.offered.size() - 1).stream().map(PodState::podIndex).toList();
    }

    @Test
    void withoutCapacitiesOrZoneTheSelectorGetsTheRoutablePodsThemselves() {
        ServiceView view = TestViews.of("chat", NOW, pod(0, "a"), pod(1, "b"), pod(2, null));
        gateway(ZonePreference.NONE).select(view);
        assertThat(this.offered.get(0)).isSameAs(view.routablePods());
    }

    @Test
    void aGatewayOffersThePodsOfItsZoneTheSameListEveryTime() {
        ServiceView view = TestViews.of("chat", NOW, pod(0, "a"), pod(1, "a"), pod(2, "b"), pod(3, "b"), pod(4, null));
        RouteInfoDriver gateway = gateway(ZonePreference.of("a"));

        assertThat(offeredFor(gateway, view)).containsExactly(0, 1);
        gateway.select(view);
        assertThat(this.offered.get(1)).as("no list built per new user").isSameAs(this.offered.get(0));
        assertThat(offeredFor(gateway(ZonePreference.of("b")), view)).containsExactly(2, 3);
        assertThat(offeredFor(gateway(ZonePreference.of("c")), view)).as("no pod in the zone: any zone")
            .containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void aZoneWhosePodsAreAllFullOrBusyGivesWayToTheOthers() {
        ServiceView fullZone = TestViews.of("chat", NOW, pod(0, "a", 0, 10, PodCapacity.ofUsers(10)),
                pod(1, "a", 0, 3, PodCapacity.ofUsers(10)), pod(2, "b", 0, 0, PodCapacity.ofUsers(10)));
        assertThat(offeredFor(gateway(ZonePreference.of("a")), fullZone)).containsExactly(1);

        ServiceView allFull = TestViews.of("chat", NOW, pod(0, "a", 0, 10, PodCapacity.ofUsers(10)),
                pod(1, "a", 0, 12, PodCapacity.ofUsers(10)), pod(2, "b", 0, 0, PodCapacity.ofUsers(10)),
                pod(3, "b", 0, 0, PodCapacity.UNLIMITED));
        assertThat(offeredFor(gateway(ZonePreference.of("a")), allFull)).containsExactly(2, 3);

        ServiceView busy = TestViews.of("chat", NOW, pod(0, "a", 80, 0, PodCapacity.UNLIMITED),
                pod(1, "a", 95, 0, PodCapacity.UNLIMITED), pod(2, "b", 10, 0, PodCapacity.UNLIMITED));
        assertThat(offeredFor(gateway(new ZonePreference("a", 80)), busy)).containsExactly(0, 1, 2);
        assertThat(offeredFor(gateway(new ZonePreference("a", 90)), busy))
            .as("pod 0 is not busy yet: the zone keeps its pods, the strategy weighs their loads")
            .containsExactly(0, 1);
        assertThat(offeredFor(gateway(ZonePreference.of("a")), busy)).containsExactly(0, 1);
    }

    @Test
    void podsAtTheirCapacityOrLoadCeilingAreLeftOut() {
        ServiceView view = TestViews.of("chat", NOW, pod(0, null, 0, 10, PodCapacity.ofUsers(10)),
                pod(1, null, 0, 9, PodCapacity.ofUsers(10)), pod(2, null, 50, 0, new PodCapacity(Integer.MAX_VALUE, 50)),
                pod(3, null, 49.9, 0, new PodCapacity(Integer.MAX_VALUE, 50)), pod(4, null, 0, -1, PodCapacity.UNLIMITED));
        RouteInfoDriver gateway = gateway(ZonePreference.NONE);

        assertThat(offeredFor(gateway, view)).containsExactly(1, 3, 4);
        view.placed(1);
        assertThat(view.estimatedUsers(view.pod(1))).isEqualTo(10);
        assertThat(offeredFor(gateway, view)).as("its own new user filled pod 1").containsExactly(3, 4);
    }

    /**
     * The herd a warm-up prevents: pods 0 to 2 have served for long (load 10), pod 3 just became
     * routable (load 0), and the least-loaded strategy would send it every new user. On a clock
     * the test sets, and a uniform sequence in place of the random draw, pod 3 keeps exactly its
     * weight's share of 1,000 new users at each point of its 100 s ramp; the others go to pod 0.
     */
    @Test
    void aWarmingPodKeepsItsWeightsShareAlongTheRamp() {
        for (double aggression : new double[] { 1, 2 }) {
            ServiceView view = TestViews.of("chat", NOW, pod(0, null, 10, 0, PodCapacity.UNLIMITED),
                    pod(1, null, 10, 0, PodCapacity.UNLIMITED), pod(2, null, 10, 0, PodCapacity.UNLIMITED),
                    warming(3, NOW, new WarmUp(Duration.ofSeconds(100), aggression, 0.1)));
            AtomicLong clock = new AtomicLong();
            RouteInfoDriver gateway = warmingGateway(clock);
            Map<Long, Integer> keptAt = new LinkedHashMap<>();
            for (long elapsed : new long[] { 0, 5_000, 25_000, 50_000, 90_000, 100_000, 600_000 }) {
                clock.set(NOW + elapsed);
                Map<Integer, Integer> perPod = new HashMap<>();
                for (int user = 0; user < 1_000; user++) {
                    perPod.merge(gateway.select(view).podIndex(), 1, Integer::sum);
                }
                assertThat(perPod.keySet()).isSubsetOf(0, 3);
                keptAt.put(elapsed, perPod.getOrDefault(3, 0));
            }
            // max(0.1, (elapsed / 100 s) ^ (1 / aggression)) of the users
            Map<Long, Integer> expected = (aggression == 1)
                    ? Map.of(0L, 100, 5_000L, 100, 25_000L, 250, 50_000L, 500, 90_000L, 900, 100_000L, 1_000,
                            600_000L, 1_000)
                    : Map.of(0L, 100, 5_000L, 224, 25_000L, 500, 50_000L, 708, 90_000L, 949, 100_000L, 1_000,
                            600_000L, 1_000);
            assertThat(keptAt).as("aggression %s", aggression).isEqualTo(expected);
        }
    }

    @Test
    void podsThatAllWarmUpTogetherKeepTheSelectorsChoice() {
        ServiceView fleetStart = TestViews.of("chat", NOW, warming(0, NOW, WarmUp.linear(Duration.ofSeconds(100))),
                warming(1, NOW - 1_000, WarmUp.linear(Duration.ofSeconds(100))));
        AtomicLong clock = new AtomicLong(NOW);
        RouteInfoDriver gateway = warmingGateway(clock);
        for (int user = 0; user < 100; user++) {
            assertThat(gateway.select(fleetStart).podIndex()).as("least loaded, then lowest index").isZero();
        }
    }

    @Test
    void aWarmingPodLeftOutGivesWayToPodsWithRoomOnly() {
        ServiceView view = TestViews.of("chat", NOW, pod(0, null, 5, 10, PodCapacity.ofUsers(10)),
                pod(1, null, 7, 0, PodCapacity.ofUsers(10)), warming(2, NOW, WarmUp.linear(Duration.ofSeconds(100))));
        RouteInfoDriver gateway = warmingGateway(new AtomicLong(NOW));
        Map<Integer, Integer> perPod = new HashMap<>();
        for (int user = 0; user < 1_000; user++) {
            perPod.merge(gateway.select(view).podIndex(), 1, Integer::sum);
        }
        assertThat(perPod).isEqualTo(Map.of(2, 100, 1, 900));
    }

    private static PodState warming(int index, long since, WarmUp warmUp) {
        return new PodState(index, 0, RoutingState.READY, NOW, null, null, 0, PodCapacity.UNLIMITED, since, warmUp);
    }

    /** A least-loaded gateway on the given clock, drawing 0, 0.001, ..., 0.999 in turn. */
    private static RouteInfoDriver warmingGateway(AtomicLong clock) {
        AtomicInteger draws = new AtomicInteger();
        return new RouteInfoDriver(new ServiceStateCache(noRedis(), Duration.ofSeconds(5)),
                PodSelectionStrategy.LEAST_LOADED.newSelector(), ZonePreference.NONE, (view) -> clock.get(),
                () -> (draws.getAndIncrement() % 1_000) / 1_000.0);
    }

    @Test
    void whenEveryRoutablePodIsFullNoneIsPickedAndTheErrorSaysSo() {
        ServiceView full = TestViews.of("chat", NOW, pod(0, "a", 0, 10, PodCapacity.ofUsers(10)),
                pod(1, "b", 0, 10, PodCapacity.ofUsers(10)));
        RouteInfoDriver gateway = gateway(ZonePreference.of("a"));

        assertThat(gateway.select(full)).isNull();
        assertThat(this.offered).isEmpty();
        assertThat(gateway.noPodFor(full)).isInstanceOf(PodsAtCapacityException.class)
            .hasMessageContaining("All 2 routable pods");
        assertThat(gateway.noPodFor(TestViews.of("chat", NOW))).isNotInstanceOf(PodsAtCapacityException.class);
    }
}
