package io.statefulroute.core.balance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.PodsAtCapacityException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Pods that declare a capacity, on real Redis, with one gateway: it fills each pod up to its
 * capacity between heartbeats by counting its own new users, then answers new users with
 * {@link PodsAtCapacityException} while the users already linked keep their pods.
 */
class CapacityTest {

    private TestRedis redis;

    private StatefulExecutor executor;

    private String ns;

    private ServiceStateCache states;

    private StatefulRouteForClientDriver gateway;

    private final List<StatefulRouteForServerDriver> pods = new ArrayList<>();

    @BeforeEach
    void connect() {
        this.redis = TestRedis.on(RedisServers.shared());
        this.executor = this.redis.executor();
        this.ns = TestRedis.freshNamespace();
        this.states = new ServiceStateCache(this.executor, Duration.ofSeconds(5));
        this.gateway = new StatefulRouteForClientDriver(this.executor,
                new RouteInfoDriver(this.states, PodSelectionStrategy.LOAD_AWARE.newSelector()),
                ClientOptions.defaults(this.ns));
    }

    @AfterEach
    void close() {
        this.pods.forEach(StatefulRouteForServerDriver::stop);
        this.redis.close();
    }

    private StatefulRouteForServerDriver pod(int index, PodCapacity capacity) {
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(this.executor,
                new ServerOptions(new PodIdentity(this.ns, "chat", index), 0, Duration.ZERO).withCapacity(capacity));
        pod.start();
        this.pods.add(pod);
        return pod;
    }

    private int route(String uid) {
        return this.gateway.computeLinkedPod(this.ns, uid, "chat");
    }

    @Test
    void betweenHeartbeatsAGatewayFillsEachPodToItsCapacityAndNoFurther() {
        pod(0, PodCapacity.ofUsers(10));
        pod(1, PodCapacity.ofUsers(10));

        // no heartbeat from here on: the pods' published counts stay 0
        Map<Integer, Integer> placed = new HashMap<>();
        for (int user = 0; user < 20; user++) {
            placed.merge(route("user-" + user), 1, Integer::sum);
        }

        assertThat(placed).containsEntry(0, 10).containsEntry(1, 10);
        assertThatThrownBy(() -> route("one-too-many")).isInstanceOf(PodsAtCapacityException.class)
            .isInstanceOf(NoRoutablePodException.class)
            .hasMessageContaining("All 2 routable pods of service 'chat'")
            .satisfies((ex) -> assertThat(((PodsAtCapacityException) ex).getRoutablePods()).isEqualTo(2));
        // users already linked keep their pods, from the cache and from Redis
        int pod = this.executor.getLinkedPod(this.ns, "user-7", "chat").orElseThrow();
        assertThat(route("user-7")).isEqualTo(pod);
        this.gateway.cacheExpired(this.ns, "user-7", "chat");
        assertThat(route("user-7")).isEqualTo(pod);
    }

    @Test
    void aFullPodKeepsItsUsersAndTakesNewOnesOnceSomeLeave() {
        StatefulRouteForServerDriver pod = pod(0, PodCapacity.ofUsers(3));
        for (int user = 0; user < 3; user++) {
            String uid = "user-" + user;
            assertThat(route(uid)).isZero();
            // the user's first request reaches the pod, which takes the user
            pod.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        }
        pod.heartbeat();
        this.states.refresh();
        assertThat(this.states.view(this.ns, "chat").pod(0).users()).isEqualTo(3);
        assertThatThrownBy(() -> route("newcomer")).isInstanceOf(PodsAtCapacityException.class);

        pod.removeLinkedPod("user-1", 0);
        // the next heartbeats publish 2 users; the gateway's own count of its 3 placements lapses
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> {
            pod.heartbeat();
            this.states.refresh();
            ServiceView view = this.states.view(this.ns, "chat");
            return view.estimatedUsers(view.pod(0)) == 2;
        });
        assertThat(route("newcomer")).isZero();
        assertThat(route("user-0")).isZero();
        assertThatThrownBy(() -> route("second-newcomer")).isInstanceOf(PodsAtCapacityException.class);
    }

    @Test
    void aPodAtItsLoadCeilingTakesNoNewUsers() {
        StatefulRouteForServerDriver busy = pod(0, new PodCapacity(Integer.MAX_VALUE, 50));
        pod(1, PodCapacity.UNLIMITED);
        busy.setLoadState(50);
        busy.heartbeat();

        for (int user = 0; user < 30; user++) {
            assertThat(route("user-" + user)).isEqualTo(1);
        }
        ServiceView view = this.states.view(this.ns, "chat");
        PodState ceiling = view.pod(0);
        assertThat(view.hasRoom(ceiling)).isFalse();
        assertThat(ceiling.capacity().maxLoad()).isEqualTo(50);
    }

    @Test
    void podsThatDeclareNoCapacityNeedNoPlacementStep() {
        pod(0, PodCapacity.UNLIMITED);
        pod(1, PodCapacity.UNLIMITED);
        for (int user = 0; user < 10; user++) {
            assertThat(route("user-" + user)).isIn(0, 1);
        }

        ServiceView view = this.states.view(this.ns, "chat");
        assertThat(view.hasCapacityLimits()).isFalse();
        assertThat(view.pod(0).users()).isZero();
        assertThat(view.estimatedUsers(view.pod(0))).as("new users are not counted for a pod without capacity")
            .isZero();
    }
}
