package io.statefulroute.tracing;

import java.time.Duration;
import java.util.UUID;

import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.StringCodec;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The observations of routing decisions and Redis operations, and their key values, on a
 * real Redis.
 */
class ObservationRouteListenerTests {

    private final String namespace = "ns-" + UUID.randomUUID().toString().substring(0, 8);

    private final TestObservationRegistry registry = TestObservationRegistry.create();

    private final RedisClient redisClient = RedisClient.create(RedisServers.shared().uri());

    private RedisStatefulExecutor executor;

    @AfterEach
    void close() {
        this.executor.close();
        this.redisClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }

    private StatefulRouteForClientDriver client(boolean includeUid) {
        ObservationRouteListener listener = new ObservationRouteListener(this.registry, includeUid);
        this.executor = RedisStatefulExecutor.builder()
            .ownedConnection(this.redisClient.connect(StringCodec.UTF8))
            .callListener(listener)
            .build();
        ServiceStateCache states = new ServiceStateCache(this.executor, Duration.ofSeconds(5));
        return new StatefulRouteForClientDriver(this.executor,
                new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector()),
                ClientOptions.defaults(this.namespace), listener);
    }

    @Test
    void routingDecisionThatGoesToRedisIsObservedWithoutTheUid() {
        StatefulRouteForClientDriver client = client(false);
        this.executor.setServiceState(this.namespace, "chat", 0, RoutingState.READY, 0);
        this.registry.clear();
        client.computeLinkedPod(this.namespace, "user-1", "chat");
        client.computeLinkedPod(this.namespace, "user-1", "chat");

        TestObservationRegistryAssert.assertThat(this.registry)
            .hasNumberOfObservationsWithNameEqualTo(ObservationRouteListener.ROUTE, 1)
            .hasObservationWithNameEqualTo(ObservationRouteListener.ROUTE)
            .that()
            .hasContextualNameEqualTo("route chat")
            .hasLowCardinalityKeyValue("namespace", this.namespace)
            .hasLowCardinalityKeyValue("service", "chat")
            .hasLowCardinalityKeyValue("outcome", "new_link")
            .doesNotHaveHighCardinalityKeyValueWithKey("uid")
            .doesNotHaveLowCardinalityKeyValueWithKey("uid")
            .hasBeenStarted()
            .hasBeenStopped()
            .doesNotHaveError();
        TestObservationRegistryAssert.assertThat(this.registry)
            .hasAnObservation((observation) -> observation.hasNameEqualTo(ObservationRouteListener.REDIS)
                .hasLowCardinalityKeyValue("operation", "setLinkedPodIfAbsent"))
            .hasAnObservation((observation) -> observation.hasNameEqualTo(ObservationRouteListener.REDIS)
                .hasLowCardinalityKeyValue("operation", "getServiceState"))
            .hasAnObservation((observation) -> observation.hasNameEqualTo(ObservationRouteListener.REDIS)
                .hasLowCardinalityKeyValue("outcome", "success"));
    }

    @Test
    void uidIsAHighCardinalityKeyValueWhenAskedFor() {
        StatefulRouteForClientDriver client = client(true);
        this.executor.setServiceState(this.namespace, "chat", 0, RoutingState.READY, 0);
        client.computeLinkedPod(this.namespace, "user-2", "chat");

        TestObservationRegistryAssert.assertThat(this.registry)
            .hasObservationWithNameEqualTo(ObservationRouteListener.ROUTE)
            .that()
            .hasHighCardinalityKeyValue("uid", "user-2")
            .doesNotHaveLowCardinalityKeyValueWithKey("uid");
    }

    @Test
    void failedDecisionIsObservedWithItsError() {
        StatefulRouteForClientDriver client = client(false);
        assertThatThrownBy(() -> client.computeLinkedPod(this.namespace, "user-3", "empty"))
            .isInstanceOf(NoRoutablePodException.class);

        TestObservationRegistryAssert.assertThat(this.registry)
            .hasObservationWithNameEqualTo(ObservationRouteListener.ROUTE)
            .that()
            .hasLowCardinalityKeyValue("outcome", "no_routable_pod")
            .assertThatError()
            .isInstanceOf(NoRoutablePodException.class);
    }

}
