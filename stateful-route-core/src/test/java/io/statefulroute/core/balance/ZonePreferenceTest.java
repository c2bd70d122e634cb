package io.statefulroute.core.balance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two zones of two pods on real Redis (pods 0 and 1 in zone a, 2 and 3 in zone b), gateways in
 * zone a: new users stay in zone a while it can take them and go to zone b once it cannot;
 * users linked already stay where they are.
 */
class ZonePreferenceTest {

    private TestRedis redis;

    private String ns;

    private final List<StatefulRouteForServerDriver> pods = new ArrayList<>();

    private final List<StatefulRouteForClientDriver> gateways = new ArrayList<>();

    private final List<ServiceStateCache> caches = new ArrayList<>();

    @BeforeEach
    void start() {
        this.redis = TestRedis.on(RedisServers.shared());
        this.ns = TestRedis.freshNamespace();
    }

    @AfterEach
    void stop() {
        this.pods.forEach(StatefulRouteForServerDriver::stop);
        this.redis.close();
    }

    private void podsInTwoZones(PodCapacity capacity) {
        StatefulExecutor executor = this.redis.executor();
        for (int index = 0; index < 4; index++) {
            StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(executor,
                    new ServerOptions(new PodIdentity(this.ns, "room", index), 0, Duration.ZERO).withCapacity(capacity));
            pod.setAdvertisedAddress(new PodAddress("http", "10.0.0." + (index + 1), 8080,
                    Map.of(PodAddress.ZONE, (index < 2) ? "a" : "b")));
            pod.start();
            this.pods.add(pod);
        }
    }

    private void gatewaysIn(String zone, int count, double loadThreshold) {
        for (int i = 0; i < count; i++) {
            StatefulExecutor executor = this.redis.executor();
            ServiceStateCache states = new ServiceStateCache(executor, Duration.ofSeconds(5));
            this.caches.add(states);
            this.gateways.add(new StatefulRouteForClientDriver(executor, new RouteInfoDriver(states,
                    PodSelectionStrategy.LOAD_AWARE.newSelector(), new ZonePreference(zone, loadThreshold)),
                    ClientOptions.defaults(this.ns)));
        }
    }

    /** Routes new users through the gateways in turn; returns how many went to each pod. */
    private Map<Integer, Integer> route(String prefix, int users) {
        Map<Integer, Integer> perPod = new HashMap<>();
        for (int user = 0; user < users; user++) {
            StatefulRouteForClientDriver gateway = this.gateways.get(user % this.gateways.size());
            perPod.merge(gateway.computeLinkedPod(this.ns, prefix + user, "room"), 1, Integer::sum);
        }
        return perPod;
    }

    private void refreshGateways() {
        this.pods.forEach(StatefulRouteForServerDriver::heartbeat);
        this.caches.forEach(ServiceStateCache::refresh);
    }

    @Test
    void newUsersStayInTheGatewaysZoneUntilItDrainsThenGoToTheOther() {
        podsInTwoZones(PodCapacity.UNLIMITED);
        gatewaysIn("a", 2, Double.POSITIVE_INFINITY);

        Map<Integer, Integer> first = route("early-", 200);
        assertThat(first.keySet()).containsExactlyInAnyOrder(0, 1);

        this.pods.get(0).setRoutingState(RoutingState.DENY_NEW_CALL);
        this.pods.get(1).setRoutingState(RoutingState.DENY_NEW_CALL);
        refreshGateways();
        Map<Integer, Integer> later = route("late-", 200);
        assertThat(later.keySet()).containsExactlyInAnyOrder(2, 3);

        // users linked before stay on the draining zone a pods
        Map<Integer, Integer> again = route("early-", 200);
        assertThat(again).isEqualTo(first);
    }

    @Test
    void newUsersGoToTheOtherZoneOnceTheirZoneIsFull() {
        podsInTwoZones(PodCapacity.ofUsers(20));
        // one gateway, between heartbeats: it counts the users it places itself
        gatewaysIn("a", 1, Double.POSITIVE_INFINITY);

        Map<Integer, Integer> zoneA = route("user-", 40);
        assertThat(zoneA).containsOnlyKeys(0, 1).containsValues(20, 20);

        Map<Integer, Integer> spilled = route("spill-", 30);
        assertThat(spilled).containsOnlyKeys(2, 3);
        assertThat(route("user-", 40)).isEqualTo(zoneA);
    }

    @Test
    void aBusyZoneGivesNewUsersToEveryZone() {
        podsInTwoZones(PodCapacity.UNLIMITED);
        gatewaysIn("a", 1, 50);
        this.pods.get(0).setLoadState(60);
        this.pods.get(1).setLoadState(50);
        refreshGateways();

        assertThat(route("user-", 200).keySet()).contains(2, 3);

        this.pods.get(1).setLoadState(49);
        refreshGateways();
        assertThat(route("calm-", 100).keySet()).containsExactly(1);
    }
}
