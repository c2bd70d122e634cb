package io.statefulroute.autoconfigure;

import java.util.UUID;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.statefulroute.actuate.StatefulRouteMeterBinder;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The placement properties: a pod's capacity, published with its heartbeat and shown by its
 * meters, on a real Redis.
 */
class StatefulRoutePlacementTests {

    private static final RedisServer redis = RedisServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class, StatefulRouteAutoConfiguration.class,
                StatefulRouteMetricsAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
                "stateful-route.key-prefix=sr-test-" + UUID.randomUUID().toString().substring(0, 8),
                "stateful-route.server.drain-period=0s", "stateful-route.namespace=placement");

    @Test
    void aPodDeclaresNoCapacityUnlessConfigured() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0")
            .run((context) -> {
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                assertThat(server.capacity()).isEqualTo(PodCapacity.UNLIMITED);
                MeterRegistry registry = new SimpleMeterRegistry();
                context.getBean(StatefulRouteMeterBinder.class).bindTo(registry);
                assertThat(registry.get("statefulroute.pod.users").gauge().value()).isZero();
                assertThat(registry.find("statefulroute.pod.capacity.users").gauge()).isNull();
            });
    }

    @Test
    void aPodPublishesItsCapacityAndTheUsersItHolds() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=1",
                "stateful-route.server.capacity.users=5000", "stateful-route.server.capacity.load=90.5")
            .run((context) -> {
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                assertThat(server.capacity()).isEqualTo(new PodCapacity(5000, 90.5));
                server.setLinkedPod("alice", RouteArguments.PERSIST_FOREVER);
                server.heartbeat();
                ServiceStateCache states = context.getBean(ServiceStateCache.class);
                PodState published = states.reloadAsync("placement", "chat").join().pod(1);
                assertThat(published.capacity()).isEqualTo(new PodCapacity(5000, 90.5));
                assertThat(published.users()).isEqualTo(1);
                MeterRegistry registry = new SimpleMeterRegistry();
                context.getBean(StatefulRouteMeterBinder.class).bindTo(registry);
                assertThat(registry.get("statefulroute.pod.users").gauge().value()).isEqualTo(1);
                assertThat(registry.get("statefulroute.pod.capacity.users").gauge().value()).isEqualTo(5000);
            });
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            stateful-route.server.capacity.users=0  | server.capacity.users | must be at least 1
            stateful-route.server.capacity.load=0   | server.capacity.load  | must be a positive number
            stateful-route.server.capacity.load=NaN | server.capacity.load  | must be a positive number
            """)
    void invalidPlacementPropertyFailsStartup(String property, String field, String reason) {
        this.contextRunner.withPropertyValues(property).run((context) -> {
            assertThat(context).hasFailed();
            assertThat(context).getFailure()
                .hasStackTraceContaining("Binding validation errors on stateful-route")
                .hasStackTraceContaining("on field '" + field + "'")
                .hasStackTraceContaining("default message [" + reason);
        });
    }
}
