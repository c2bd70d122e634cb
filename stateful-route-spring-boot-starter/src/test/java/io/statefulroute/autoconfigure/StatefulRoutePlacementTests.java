package io.statefulroute.autoconfigure;

import java.time.Duration;
import java.util.UUID;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.statefulroute.actuate.StatefulRouteMeterBinder;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.balance.ZonePreference;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.WarmUp;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

/**
 * The placement properties, on a real Redis: a pod's capacity, published with its heartbeat and
 * shown by its meters; its warm-up, published too; the application's zone, preferred by its
 * gateways and advertised by its pod.
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

    @Test
    void aPodWarmsUpOnlyWhenConfiguredAndPublishesItsRamp() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=2")
            .run((context) -> assertThat(context.getBean(StatefulRouteForServerDriver.class).warmUp())
                .isEqualTo(WarmUp.NONE));
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=3",
                "stateful-route.server.warm-up.duration=45s", "stateful-route.server.warm-up.aggression=2",
                "stateful-route.server.warm-up.minimum-weight=0.05")
            .run((context) -> {
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                WarmUp warmUp = new WarmUp(Duration.ofSeconds(45), 2, 0.05);
                assertThat(server.warmUp()).isEqualTo(warmUp);
                server.heartbeat();
                PodState published = context.getBean(ServiceStateCache.class).reloadAsync("placement", "chat").join()
                    .pod(3);
                assertThat(published.warmUp()).isEqualTo(warmUp);
                assertThat(published.routableSinceMillis()).isPositive();
            });
    }

    @Test
    void withoutAZoneNewUsersGoToPodsOfAnyZone() {
        this.contextRunner.run((context) -> assertThat(context.getBean(RouteInfoDriver.class).zonePreference())
            .isEqualTo(ZonePreference.NONE));
    }

    @Test
    void theApplicationsZoneIsPreferredAndAdvertisedByItsPod() {
        this.contextRunner.withPropertyValues("stateful-route.zone=eu-1a",
                "stateful-route.zone-preference.load-threshold=75", "stateful-route.server.service=chat",
                "stateful-route.server.pod-index=0", "stateful-route.server.advertised-address.port=8080",
                "stateful-route.server.advertised-address.metadata.rack=r7")
            .run((context) -> {
                assertThat(context.getBean(RouteInfoDriver.class).zonePreference())
                    .isEqualTo(new ZonePreference("eu-1a", 75));
                assertThat(context.getBean(StatefulRouteForServerDriver.class).getAdvertisedAddress().metadata())
                    .containsExactly(entry("rack", "r7"), entry("zone", "eu-1a"));
            });
    }

    @Test
    void theZoneDefaultsToSpringCloudLoadBalancersAndAdvertisedMetadataWins() {
        this.contextRunner.withPropertyValues("spring.cloud.loadbalancer.zone=eu-1b",
                "stateful-route.server.service=chat", "stateful-route.server.pod-index=0",
                "stateful-route.server.advertised-address.port=8080",
                "stateful-route.server.advertised-address.metadata.zone=eu-1c")
            .run((context) -> {
                assertThat(context.getBean(RouteInfoDriver.class).zonePreference())
                    .isEqualTo(ZonePreference.of("eu-1b"));
                assertThat(context.getBean(StatefulRouteForServerDriver.class).getAdvertisedAddress().zone())
                    .isEqualTo("eu-1c");
            });
    }

    @Test
    void zonePreferenceCanBeSwitchedOff() {
        this.contextRunner.withPropertyValues("stateful-route.zone=eu-1a", "stateful-route.zone-preference.enabled=false")
            .run((context) -> assertThat(context.getBean(RouteInfoDriver.class).zonePreference())
                .isEqualTo(ZonePreference.NONE));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            stateful-route.server.capacity.users=0  | server.capacity.users | must be at least 1
            stateful-route.server.capacity.load=0   | server.capacity.load  | must be a positive number
            stateful-route.server.capacity.load=NaN | server.capacity.load  | must be a positive number
            stateful-route.zone-preference.load-threshold=-1 | zonePreference.loadThreshold | must be a positive number
            stateful-route.server.warm-up.duration=-1s         | server.warmUp.duration       | must be zero or positive
            stateful-route.server.warm-up.duration=2d          | server.warmUp.duration       | must be zero or positive, and at most a day
            stateful-route.server.warm-up.aggression=0         | server.warmUp.aggression     | must be a positive number
            stateful-route.server.warm-up.minimum-weight=1.5   | server.warmUp.minimumWeight  | must be between 0 and 1
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
