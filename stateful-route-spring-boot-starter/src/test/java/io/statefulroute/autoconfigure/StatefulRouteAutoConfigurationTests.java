package io.statefulroute.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.StringCodec;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.statefulroute.actuate.StatefulRouteEndpoint;
import io.statefulroute.actuate.StatefulRouteHealthIndicator;
import io.statefulroute.actuate.StatefulRouteMeterBinder;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.PodSelector;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.redis.SpringDataRedisConnections;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.server.WaitingTasksSource;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.PodStateChange;
import io.statefulroute.core.state.PodStateListener;
import io.statefulroute.event.PodStateChangedEvent;
import io.statefulroute.event.UsersLostEvent;
import io.statefulroute.core.ReplicaAcknowledgementException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.server.LossReason;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.lifecycle.ReadinessDrainListener;
import io.statefulroute.lifecycle.StatefulRouteLifecycle;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.data.redis.autoconfigure.ClientResourcesBuilderCustomizer;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.event.EventListener;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.dao.DataAccessException;
import org.springframework.data.redis.connection.RedisClusterConnection;
import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.RedisSentinelConnection;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.scheduling.TaskScheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Tests for {@link StatefulRouteAutoConfiguration} and the optional auto-configurations,
 * on a real Redis.
 */
class StatefulRouteAutoConfigurationTests {

    private static final RedisServer redis = RedisServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class, StatefulRouteAutoConfiguration.class,
                StatefulRouteEndpointAutoConfiguration.class, StatefulRouteHealthContributorAutoConfiguration.class,
                StatefulRouteMetricsAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
                "stateful-route.key-prefix=" + uniquePrefix(), "stateful-route.server.drain-period=0s");

    @Test
    void defaultBeansOnTheClientSide() {
        this.contextRunner.run((context) -> {
            assertThat(context).hasSingleBean(RedisStatefulExecutor.class)
                .hasSingleBean(ServiceStateCache.class)
                .hasSingleBean(PodSelector.class)
                .hasSingleBean(RouteInfoDriver.class)
                .hasSingleBean(StatefulRouteForClientDriver.class)
                .hasSingleBean(StatefulRouteLifecycle.class)
                .hasSingleBean(StatefulRouteMeterBinder.class)
                .doesNotHaveBean(StatefulRouteForServerDriver.class)
                .doesNotHaveBean(ReadinessDrainListener.class)
                .doesNotHaveBean(StatefulRouteHealthIndicator.class)
                .doesNotHaveBean(StatefulRouteEndpoint.class)
                .doesNotHaveBean(TaskScheduler.class);
            StatefulRouteProperties properties = context.getBean(StatefulRouteProperties.class);
            assertThat(properties.getNamespace()).isEqualTo("default");
            assertThat(properties.getCommandTimeout()).isEqualTo(Duration.ofSeconds(2));
            assertThat(properties.getSelectionStrategy()).isEqualTo(PodSelectionStrategy.LOAD_AWARE);
            ClientOptions options = context.getBean(StatefulRouteForClientDriver.class).options();
            assertThat(options.temporaryLinkTtl()).isEqualTo(Duration.ofSeconds(300));
            assertThat(options.cacheTtl()).isEqualTo(Duration.ofSeconds(240));
            assertThat(options.cacheMaximumSize()).isEqualTo(100_000);
            assertThat(options.fallbackCacheTtl()).isEqualTo(Duration.ofSeconds(1));
            assertThat(context.getBean(ServiceStateCache.class).podExpiry()).isEqualTo(Duration.ofSeconds(5));
            assertThat(context.getBean(StatefulRouteLifecycle.class).isRunning()).isTrue();
        });
    }

    @Test
    void clientLinksUsersToThePodOfThisApplication() {
        this.contextRunner.withPropertyValues("stateful-route.namespace=shop", "stateful-route.server.service=cart",
                "stateful-route.server.pod-index=2")
            .run((context) -> {
                StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
                assertThat(client.computeLinkedPod("shop", "user-1", "cart")).isEqualTo(2);
                assertThat(context.getBean(StatefulExecutor.class).getLinkedPod("shop", "user-1", "cart"))
                    .hasValue(2);
            });
    }

    @Test
    void fallbackTtlIsCappedAtTheCacheTtl() {
        this.contextRunner.withPropertyValues("stateful-route.cache.ttl=0s")
            .run((context) -> assertThat(context.getBean(StatefulRouteForClientDriver.class).options().fallbackCacheTtl())
                .isZero());
    }

    @Test
    void podStateListenerBeansAreAddedToTheStateCache() {
        List<PodStateChange> changes = new CopyOnWriteArrayList<>();
        this.contextRunner.withBean(PodStateListener.class, () -> changes::add)
            .withPropertyValues("stateful-route.namespace=events", "stateful-route.server.service=chat",
                    "stateful-route.server.pod-index=0")
            .run((context) -> {
                ServiceStateCache states = context.getBean(ServiceStateCache.class);
                states.view("events", "chat");
                context.getBean(StatefulRouteForServerDriver.class).setRoutingState(RoutingState.DENY_NEW_CALL);
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                    states.refresh();
                    assertThat(changes).extracting(PodStateChange::kind).contains(PodStateChange.Kind.DRAINING);
                });
            });
    }

    @Test
    void theApplicationsLettuceClientKeepsItsOwnReconnectDelay() {
        this.contextRunner.run((context) -> {
            // Lettuce's own backoff: doubling up to 30 s (stateful-route reopens its own connections itself)
            assertThat(context.getBean(ClientResources.class).reconnectDelay().createDelay(20))
                .isEqualTo(Duration.ofSeconds(30));
        });
        Delay applications = Delay.constant(Duration.ofSeconds(5));
        this.contextRunner
            .withBean(ClientResourcesBuilderCustomizer.class, () -> (builder) -> builder.reconnectDelay(applications))
            .run((context) -> assertThat(context.getBean(ClientResources.class).reconnectDelay())
                .isSameAs(applications));
    }

    @Test
    void podChangesArePublishedAsSpringEvents() {
        this.contextRunner.withUserConfiguration(PodEventCollector.class)
            .withPropertyValues("stateful-route.namespace=spring-events", "stateful-route.server.service=chat",
                    "stateful-route.server.pod-index=0", "stateful-route.state.load-change-threshold=5")
            .run((context) -> {
                ServiceStateCache states = context.getBean(ServiceStateCache.class);
                states.view("spring-events", "chat");
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                server.setLoadState(50);
                server.setRoutingState(RoutingState.DENY_NEW_CALL);
                List<PodStateChangedEvent> events = context.getBean(PodEventCollector.class).events;
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                    states.refresh();
                    assertThat(events).extracting((event) -> event.getChange().kind())
                        .contains(PodStateChange.Kind.DRAINING, PodStateChange.Kind.LOAD_CHANGED);
                });
            });
    }

    @Test
    void aNonPositiveLoadChangeThresholdFailsStartup() {
        this.contextRunner.withPropertyValues("stateful-route.state.load-change-threshold=0")
            .run((context) -> assertThat(context).getFailure()
                .hasStackTraceContaining("state.loadChangeThreshold")
                .hasStackTraceContaining("must be a positive number"));
    }

    @Configuration(proxyBeanMethods = false)
    static class PodEventCollector {

        final List<PodStateChangedEvent> events = new CopyOnWriteArrayList<>();

        @EventListener
        void on(PodStateChangedEvent event) {
            this.events.add(event);
        }

    }

    @Test
    void usersLostArePublishedAsSpringEventsAndInHealth() {
        this.contextRunner.withUserConfiguration(OwnershipEventCollector.class)
            .withPropertyValues("stateful-route.namespace=lost-users", "stateful-route.server.service=chat",
                    "stateful-route.server.pod-index=0", "stateful-route.state.relink-grace=1s")
            .run((context) -> {
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                assertThat(server.isLeaseLive()).isTrue();
                server.setLinkedPod("taken", RouteArguments.PERSIST_FOREVER);
                // another writer takes the user: the pod learns it from the link change notice
                context.getBean(StatefulExecutor.class)
                    .setLinkedPod("lost-users", "taken", "chat", 3, RouteArguments.PERSIST_FOREVER);
                List<UsersLostEvent> events = context.getBean(OwnershipEventCollector.class).events;
                await().atMost(Duration.ofSeconds(5)).until(() -> !events.isEmpty());
                assertThat(events).singleElement().satisfies((event) -> {
                    assertThat(event.getUids()).containsExactly("taken");
                    assertThat(event.getReason()).isEqualTo(LossReason.LINK_CHANGED);
                    assertThat(event.getPod()).isEqualTo(server.identity());
                });
                assertThat(server.heldUsers()).isEmpty();
                assertThat(context.getBean(StatefulRouteHealthIndicator.class).health().getDetails())
                    .containsEntry("lease", "LIVE").containsEntry("usersLost", 1L);
            });
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnershipEventCollector {

        final List<UsersLostEvent> events = new CopyOnWriteArrayList<>();

        @EventListener
        void on(UsersLostEvent event) {
            this.events.add(event);
        }

    }

    @Test
    void clientFollowsLinkChangeNotices() {
        this.contextRunner.withPropertyValues("stateful-route.namespace=moves", "stateful-route.server.service=chat",
                "stateful-route.server.pod-index=0", "stateful-route.state.refresh-period=100ms")
            .run((context) -> {
                StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
                await().atMost(Duration.ofSeconds(5)).until(client::isFollowingLinkChanges);
                assertThat(client.computeLinkedPod("moves", "mover", "chat")).isZero();
                // notices come by client tracking (auto): a link this client created is cached once read
                assertThat(client.getLinkedInCache("moves", "mover", "chat")).isEmpty();
                assertThat(client.computeLinkedPod("moves", "mover", "chat")).isZero();
                assertThat(client.getLinkedInCache("moves", "mover", "chat")).hasValue(0);
                // Another process moves the user: the cached link goes at once, not after the cache TTL.
                context.getBean(StatefulExecutor.class).setLinkedPod("moves", "mover", "chat", 5, 60);
                await().atMost(Duration.ofSeconds(2)).until(() -> client.getLinkedInCache("moves", "mover", "chat").isEmpty());
            });
    }

    @Test
    void linkChangeNoticesCanBeSwitchedOff() {
        this.contextRunner.withPropertyValues("stateful-route.link.follow-changes=false",
                "stateful-route.state.refresh-period=100ms")
            .run((context) -> {
                StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
                ServiceStateCache states = context.getBean(ServiceStateCache.class);
                long refreshes = states.stats().refreshes();
                await().atMost(Duration.ofSeconds(5)).until(() -> states.stats().refreshes() > refreshes + 2);
                assertThat(client.isFollowingLinkChanges()).isFalse();
            });
    }

    /**
     * Tracking without anyone following it would only fill Redis' tracking table: no tracking
     * connection then. On a server of its own, so that no other test's connection is counted.
     */
    @Test
    void trackingIsOnlyTurnedOnForAnApplicationThatFollowsChanges() {
        try (RedisServer own = RedisServers.standalone().start()) {
            ApplicationContextRunner onOwn = this.contextRunner.withPropertyValues("spring.data.redis.port=" + own.port(),
                    "stateful-route.link.notices=tracking", "stateful-route.link.publish-changes=false");
            onOwn.withPropertyValues("stateful-route.link.follow-changes=false").run((context) -> {
                StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
                assertThat(client.setLinkedPodIfAbsent(client.options().localNamespace(), "untracked", "chat", 1)).isOne();
                assertThat(trackingClients(own)).isZero();
            });
            onOwn.run((context) -> {
                StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
                await().atMost(Duration.ofSeconds(5)).until(client::isFollowingLinkChanges);
                assertThat(trackingClients(own)).isOne();
            });
        }
    }

    /** Connections with client tracking on ('t' in CLIENT LIST's flags). */
    private static long trackingClients(RedisServer server) {
        RedisClient admin = RedisClient.create(server.uri());
        try (var connection = admin.connect()) {
            return connection.sync().clientList().lines()
                .filter((line) -> line.matches(".* flags=[^ ]*t[^ ]* .*"))
                .count();
        }
        finally {
            admin.shutdown();
        }
    }

    /**
     * Replica acknowledgement waits within the command timeout, so the caller hears how the
     * write ended; with no replica a pod's write fails typed, and is in place on the primary.
     */
    @Test
    void replicaAcknowledgementIsAskedForWithinTheCommandTimeout() {
        this.contextRunner.withPropertyValues("stateful-route.link.replica-acks=1",
                "stateful-route.link.replica-ack-timeout=2s")
            .run((context) -> assertThat(context).getFailure()
                .hasStackTraceContaining("replicaAckTimeout")
                .hasStackTraceContaining("must be shorter than stateful-route.command-timeout"));
        this.contextRunner.withPropertyValues("stateful-route.link.replica-acks=-1")
            .run((context) -> assertThat(context).getFailure().hasStackTraceContaining("replicaAcks"));
        this.contextRunner.withPropertyValues("stateful-route.link.replica-acks=1",
                "stateful-route.link.replica-ack-timeout=200ms", "stateful-route.server.service=chat",
                "stateful-route.server.pod-index=0")
            .run((context) -> {
                StatefulRouteForServerDriver pod = context.getBean(StatefulRouteForServerDriver.class);
                await().atMost(Duration.ofSeconds(5)).until(pod::isLeaseLive);
                assertThatThrownBy(() -> pod.setLinkedPod("unconfirmed", RouteArguments.PERSIST_FOREVER))
                    .isInstanceOf(ReplicaAcknowledgementException.class);
                assertThat(pod.heldUsers()).contains("unconfirmed");
                StatefulExecutor executor = context.getBean(StatefulExecutor.class);
                assertThat(executor.getLinkedPod(pod.identity().namespace(), "unconfirmed", "chat")).hasValue(0);
            });
    }

    /** With client tracking, a change by another client evicts the link this application read. */
    @Test
    void linkChangeNoticesByClientTracking() {
        this.contextRunner.withPropertyValues("stateful-route.link.notices=tracking",
                "stateful-route.link.publish-changes=false", "stateful-route.state.refresh-period=100ms")
            .run((context) -> {
                StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
                await().atMost(Duration.ofSeconds(5)).until(client::isFollowingLinkChanges);
                String ns = client.options().localNamespace();
                RedisClient other = RedisClient.create(redis.uri());
                try (RedisStatefulExecutor writer = RedisStatefulExecutor.builder()
                    .ownedConnection(other.connect(StringCodec.UTF8))
                    .publishChanges(false)
                    .keyPrefix(context.getBean(RedisStatefulExecutor.class).keyPrefix())
                    .build()) {
                    // linked by another client: what this one reads is tracked for it (what it creates is not)
                    writer.setLinkedPod(ns, "tracked", "chat", 1, RouteArguments.PERSIST_FOREVER);
                    assertThat(client.getLinkedPod(ns, "tracked", "chat")).hasValue(1);
                    assertThat(client.getLinkedInCache(ns, "tracked", "chat")).hasValue(1);
                    writer.setLinkedPod(ns, "tracked", "chat", 2, RouteArguments.PERSIST_FOREVER);
                    await().atMost(Duration.ofSeconds(2))
                        .until(() -> client.getLinkedInCache(ns, "tracked", "chat").isEmpty());
                    assertThat(client.noticeStats().evicted()).isEqualTo(1);
                }
                finally {
                    other.shutdown();
                }
            });
    }

    @Test
    void noRedisNoBeans() {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(StatefulRouteAutoConfiguration.class))
            .run((context) -> assertThat(context).hasNotFailed()
                .doesNotHaveBean(StatefulExecutor.class)
                .doesNotHaveBean(StatefulRouteForClientDriver.class));
    }

    @Test
    void userExecutorIsEnoughWithoutSpringDataRedis() {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(StatefulRouteAutoConfiguration.class))
            .withUserConfiguration(UserExecutorConfiguration.class)
            .withPropertyValues("stateful-route.scheduling.enabled=false")
            .run((context) -> assertThat(context).hasSingleBean(StatefulExecutor.class)
                .hasBean("userExecutor")
                .hasSingleBean(StatefulRouteForClientDriver.class));
    }

    @Test
    void userBeansReplaceOurs() {
        this.contextRunner.withUserConfiguration(UserBeansConfiguration.class)
            .withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0",
                    "management.endpoints.web.exposure.include=statefulroute")
            .run((context) -> {
                assertThat(context).hasSingleBean(StatefulExecutor.class).hasBean("userExecutor");
                assertThat(context).hasSingleBean(ServiceStateCache.class).hasBean("userStates");
                assertThat(context).hasSingleBean(PodSelector.class).hasBean("userSelector");
                assertThat(context).hasSingleBean(RouteInfoDriver.class).hasBean("userRouteInfo");
                assertThat(context).hasSingleBean(StatefulRouteForClientDriver.class).hasBean("userClient");
                assertThat(context).hasSingleBean(StatefulRouteForServerDriver.class).hasBean("userServer");
                assertThat(context).hasSingleBean(ReadinessDrainListener.class).hasBean("userReadiness");
                assertThat(context).hasSingleBean(StatefulRouteLifecycle.class).hasBean("userLifecycle");
                assertThat(context).hasSingleBean(StatefulRouteEndpoint.class).hasBean("userEndpoint");
                assertThat(context).hasSingleBean(StatefulRouteMeterBinder.class).hasBean("userMeterBinder");
                assertThat(context).hasSingleBean(StatefulRouteHealthIndicator.class)
                    .hasBean("statefulRouteHealthIndicator");
                assertThat(context.getBean(StatefulRouteHealthIndicator.class))
                    .isSameAs(context.getBean("statefulRouteHealthIndicator"));
            });
    }

    @Test
    void nonLettuceConnectionFactoryFailsWithAClearMessage() {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(StatefulRouteAutoConfiguration.class))
            .withBean(RedisConnectionFactory.class, NotLettuceConnectionFactory::new)
            .run((context) -> assertThat(context).getFailure()
                .rootCause()
                .hasMessageContaining("stateful-route runs on Lettuce")
                .hasMessageContaining("define a StatefulExecutor bean"));
    }

    @Test
    void serverSideIsOffWithoutAService() {
        this.contextRunner.withPropertyValues("stateful-route.server.pod-index=1")
            .run((context) -> assertThat(context).doesNotHaveBean(StatefulRouteForServerDriver.class)
                .doesNotHaveBean(StatefulRouteHealthIndicator.class));
    }

    @Test
    void serverSideIsOnWithAService() {
        this.contextRunner.withPropertyValues("stateful-route.namespace=games", "stateful-route.server.service=room",
                "stateful-route.server.pod-index=4")
            .run((context) -> {
                assertThat(context).hasSingleBean(StatefulRouteForServerDriver.class)
                    .hasSingleBean(ReadinessDrainListener.class)
                    .hasSingleBean(StatefulRouteHealthIndicator.class);
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                assertThat(server.identity()).isEqualTo(new PodIdentity("games", "room", 4));
                assertThat(server.isRunning()).isTrue();
                PodState published = context.getBean(StatefulExecutor.class)
                    .getServiceState("games", "room")
                    .pod(4)
                    .orElseThrow();
                assertThat(published.routingState()).isEqualTo(RoutingState.READY);
            });
    }

    @Test
    void aWaitingTasksSourceBeanFeedsTheLoadScore() {
        this.contextRunner.withBean(WaitingTasksSource.class, () -> () -> 12)
            .withPropertyValues("stateful-route.server.service=room", "stateful-route.server.pod-index=0",
                    "stateful-route.server.cpu-factor=0.5")
            .run((context) -> {
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                server.setLoadState(4);
                assertThat(server.loadScore()).isEqualTo(0.5 * 12 + 0.5 * 4);
            });
    }

    @Test
    void serverSideCanBeSwitchedOffDespiteAService() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=room", "stateful-route.server.enabled=false")
            .run((context) -> assertThat(context).doesNotHaveBean(StatefulRouteForServerDriver.class));
    }

    @Test
    void serverSideEnabledWithoutAServiceFails() {
        this.contextRunner.withPropertyValues("stateful-route.server.enabled=true", "stateful-route.server.pod-index=0")
            .run((context) -> assertThat(failureMessages(context.getStartupFailure()))
                .contains("stateful-route.server.service")
                .contains("must be set when stateful-route.server.enabled is true"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            stateful-route.command-timeout=0s         | commandTimeout         | must be a positive duration
            stateful-route.state.refresh-period=-1s   | state.refreshPeriod    | must be a positive duration
            stateful-route.server.heartbeat-period=0s | server.heartbeatPeriod | must be a positive duration
            stateful-route.state.pod-expiry=0s        | state.podExpiry        | must be a positive duration
            stateful-route.state.pod-expiry=1s        | state.podExpiry        | must be longer than stateful-route.server.heartbeat-period
            stateful-route.state.retention=1s         | state.retention        | must not be shorter than stateful-route.state.pod-expiry
            stateful-route.cache.ttl=300s             | cache.ttl              | must be shorter than stateful-route.link.temporary-ttl
            stateful-route.cache.ttl=-1s              | cache.ttl              | must be zero or positive
            stateful-route.cache.maximum-size=-1      | cache.maximumSize      | must be zero or positive
            stateful-route.cache.fallback-ttl=-1s     | cache.fallbackTtl      | must be zero or positive
            stateful-route.link.temporary-ttl=500ms   | link.temporaryTtl      | must be at least 1 second
            stateful-route.server.drain-period=-1s    | server.drainPeriod     | must be zero or positive
            stateful-route.server.cpu-factor=1.5      | server.cpuFactor       | must be between 0 and 1
            stateful-route.server.cpu-factor=-0.1     | server.cpuFactor       | must be between 0 and 1
            stateful-route.server.pod-index=-1        | server.podIndex        | must be zero or positive
            stateful-route.namespace=                 | namespace              | must not be blank
            stateful-route.server.lease-margin=0s     | server.leaseMargin     | must be a positive duration
            stateful-route.server.lease-margin=2500ms | server.leaseMargin     | leaves a lease of PT2.5S
            stateful-route.state.relink-grace=500ms   | state.relinkGrace      | must not be shorter than stateful-route.state.refresh-period
            stateful-route.state.max-services=0       | state.maxServices      | must be at least 1
            """)
    void invalidPropertyFailsStartup(String property, String field, String reason) {
        this.contextRunner.withPropertyValues(property).run((context) -> {
            assertThat(context).hasFailed();
            assertThat(failureMessages(context.getStartupFailure()))
                .contains("Binding validation errors on stateful-route")
                .contains("on field '" + field + "'")
                .contains("default message [" + reason);
        });
    }

    @Test
    void configuredServicesAreTrackedWithinTheCap() {
        this.contextRunner.withPropertyValues("stateful-route.state.services=billing,chat",
                "stateful-route.state.max-services=5")
            .run((context) -> {
                ServiceStateCache states = context.getBean(ServiceStateCache.class);
                assertThat(states.maxServices()).isEqualTo(5);
                assertThat(states.isTracked("default", "billing")).isTrue();
                assertThat(states.isTracked("default", "chat")).isTrue();
                assertThat(states.isTracked("default", "mail")).isFalse();
            });
        this.contextRunner.withPropertyValues("stateful-route.state.services=a,b,c", "stateful-route.state.max-services=2")
            .run((context) -> assertThat(failureMessages(context.getStartupFailure()))
                .contains("on field 'state.services'")
                .contains("lists more services than stateful-route.state.max-services (2)"));
    }

    @Test
    void podIndexFromTheHostName() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "HOSTNAME=chat-3")
            .run((context) -> assertThat(context.getBean(StatefulRouteForServerDriver.class).identity().podIndex())
                .isEqualTo(3));
    }

    @Test
    void podIndexFromAFullyQualifiedHostName() {
        this.contextRunner
            .withPropertyValues("stateful-route.server.service=chat", "HOSTNAME=chat-12.chat.games.svc.cluster.local")
            .run((context) -> assertThat(context.getBean(StatefulRouteForServerDriver.class).identity().podIndex())
                .isEqualTo(12));
    }

    @Test
    void explicitPodIndexWinsOverTheHostName() {
        this.contextRunner
            .withPropertyValues("stateful-route.server.service=chat", "HOSTNAME=chat-3", "stateful-route.server.pod-index=5")
            .run((context) -> assertThat(context.getBean(StatefulRouteForServerDriver.class).identity().podIndex())
                .isEqualTo(5));
    }

    @Test
    void podAdvertisesTheConfiguredAddress() {
        this.contextRunner
            .withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0",
                    "stateful-route.server.advertised-address.host=chat-0.chat.games.svc",
                    "stateful-route.server.advertised-address.port=9000",
                    "stateful-route.server.advertised-address.scheme=https",
                    "stateful-route.server.advertised-address.metadata.zone=eu-1a")
            .run((context) -> assertThat(context.getBean(StatefulRouteForServerDriver.class).getAdvertisedAddress())
                .isEqualTo(new PodAddress("https", "chat-0.chat.games.svc", 9000, Map.of("zone", "eu-1a"))));
    }

    @Test
    void podAdvertisesItsPodIpFromTheDownwardApi() {
        this.contextRunner
            .withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0",
                    "POD_IP=10.4.0.17", "stateful-route.server.advertised-address.port=8080")
            .run((context) -> assertThat(context.getBean(StatefulRouteForServerDriver.class).getAdvertisedAddress())
                .isEqualTo(new PodAddress("http", "10.4.0.17", 8080)));
    }

    @Test
    void podWithoutWebServerNorPortAdvertisesNothingAndAddressesCanBeSwitchedOff() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0")
            .run((context) -> assertThat(context.getBean(StatefulRouteForServerDriver.class).getAdvertisedAddress())
                .isNull());
        this.contextRunner
            .withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0",
                    "stateful-route.server.advertised-address.enabled=false",
                    "stateful-route.server.advertised-address.port=8080")
            .run((context) -> assertThat(context.getBean(StatefulRouteForServerDriver.class).getAdvertisedAddress())
                .isNull());
    }

    @Test
    void hostNameWithoutOrdinalFailsStartupSayingWhatToSet() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "HOSTNAME=gateway-7f9c-xk2lp")
            .run((context) -> assertThat(failureMessages(context.getStartupFailure()))
                .contains("host name 'gateway-7f9c-xk2lp' does not end with '-<ordinal>'")
                .contains("Set stateful-route.server.pod-index"));
    }

    @Test
    void selectionStrategyProperty() {
        this.contextRunner.withPropertyValues("stateful-route.selection-strategy=round-robin").run((context) -> {
            PodSelector selector = context.getBean(PodSelector.class);
            List<PodState> pods = List.of(new PodState(0, 0, RoutingState.READY, 0),
                    new PodState(1, 0, RoutingState.READY, 0));
            assertThat(List.of(selector.select("s", pods).podIndex(), selector.select("s", pods).podIndex(),
                    selector.select("s", pods).podIndex()))
                .containsExactly(0, 1, 0);
        });
    }

    @Test
    void readinessDrainsAndUndrainsThePod() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0")
            .run((context) -> {
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                AvailabilityChangeEvent.publish(context, ReadinessState.REFUSING_TRAFFIC);
                assertThat(server.getRoutingState()).isEqualTo(RoutingState.DENY_NEW_CALL);
                AvailabilityChangeEvent.publish(context, ReadinessState.ACCEPTING_TRAFFIC);
                assertThat(server.getRoutingState()).isEqualTo(RoutingState.READY);
            });
    }

    @Test
    void readinessNeverUndoesADrainByHand() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0")
            .run((context) -> {
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                server.setRoutingState(RoutingState.DENY_NEW_CALL);
                AvailabilityChangeEvent.publish(context, ReadinessState.REFUSING_TRAFFIC);
                AvailabilityChangeEvent.publish(context, ReadinessState.ACCEPTING_TRAFFIC);
                assertThat(server.getRoutingState()).isEqualTo(RoutingState.DENY_NEW_CALL);
            });
    }

    @Test
    void worksWithoutActuator() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(Endpoint.class, HealthIndicator.class))
            .withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0",
                    "management.endpoints.web.exposure.include=*")
            .run((context) -> assertThat(context).hasNotFailed()
                .hasSingleBean(StatefulRouteForClientDriver.class)
                .hasSingleBean(StatefulRouteForServerDriver.class)
                .doesNotHaveBean(StatefulRouteEndpoint.class)
                .doesNotHaveBean(StatefulRouteHealthIndicator.class));
    }

    @Test
    void worksWithoutMicrometer() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(MeterBinder.class))
            .run((context) -> assertThat(context).hasNotFailed()
                .hasSingleBean(StatefulRouteForClientDriver.class)
                .doesNotHaveBean(StatefulRouteMeterBinder.class));
    }

    @Test
    void endpointIsAbsentWhenNotExposed() {
        this.contextRunner.run((context) -> assertThat(context).doesNotHaveBean(StatefulRouteEndpoint.class));
    }

    @Test
    void endpointIsPresentWhenExposed() {
        this.contextRunner.withPropertyValues("management.endpoints.web.exposure.include=statefulroute")
            .run((context) -> assertThat(context).hasSingleBean(StatefulRouteEndpoint.class));
    }

    @Test
    void endpointIsAbsentWhenAccessIsNone() {
        this.contextRunner.withPropertyValues("management.endpoints.web.exposure.include=statefulroute",
                "management.endpoint.statefulroute.access=NONE")
            .run((context) -> assertThat(context).doesNotHaveBean(StatefulRouteEndpoint.class));
    }

    @Test
    void healthIndicatorCanBeDisabled() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0",
                "management.health.statefulroute.enabled=false")
            .run((context) -> assertThat(context).hasSingleBean(StatefulRouteForServerDriver.class)
                .doesNotHaveBean(StatefulRouteHealthIndicator.class));
    }

    @Test
    void healthIsUpWhileDraining() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0")
            .run((context) -> {
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                server.setRoutingState(RoutingState.DENY_NEW_CALL);
                server.heartbeat();
                StatefulRouteHealthIndicator health = context.getBean(StatefulRouteHealthIndicator.class);
                assertThat(health.health().getStatus()).isEqualTo(Status.UP);
                assertThat(health.health().getDetails()).containsEntry("routingState", RoutingState.DENY_NEW_CALL)
                    .containsKey("lastSuccess");
            });
    }

    @Test
    void meterBinderPublishesCacheAndPodMeters() {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0")
            .run((context) -> {
                MeterRegistry registry = new SimpleMeterRegistry();
                context.getBean(StatefulRouteMeterBinder.class).bindTo(registry);
                context.getBean(StatefulRouteForServerDriver.class).setLoadState(10);
                assertThat(registry.get("cache.size").tag("cache", "statefulroute.links").gauge().value()).isZero();
                assertThat(registry.get("statefulroute.pod.load.score").gauge().value()).isEqualTo(7.0);
                assertThat(registry.get("statefulroute.pod.routing.state").tag("state", "READY").gauge().value())
                    .isEqualTo(1.0);
                assertThat(registry.get("statefulroute.heartbeat.failures").counter().count()).isZero();
                assertThat(registry.get("statefulroute.pod.lease.live").gauge().value()).isEqualTo(1.0);
                assertThat(registry.get("statefulroute.pod.lease.lapses").functionCounter().count()).isZero();
                assertThat(registry.get("statefulroute.pod.users.lost").functionCounter().count()).isZero();
                assertThat(registry.get("statefulroute.pod.links.restored").functionCounter().count()).isZero();
            });
    }

    @Test
    void linkNoticesTrustedGaugeOnlyWhenFollowingLinkChanges() {
        this.contextRunner.withPropertyValues("stateful-route.state.refresh-period=100ms").run((context) -> {
            MeterRegistry registry = new SimpleMeterRegistry();
            context.getBean(StatefulRouteMeterBinder.class).bindTo(registry);
            // trusted once the first probe the lifecycle sends comes back
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                    registry.get("statefulroute.link.notices.trusted").gauge().value()).isEqualTo(1.0));
            context.getBean(StatefulRouteForClientDriver.class).stopListeningForLinkChanges();
            assertThat(registry.get("statefulroute.link.notices.trusted").gauge().value()).isZero();
        });
        this.contextRunner.withPropertyValues("stateful-route.link.follow-changes=false").run((context) -> {
            MeterRegistry registry = new SimpleMeterRegistry();
            context.getBean(StatefulRouteMeterBinder.class).bindTo(registry);
            assertThat(registry.find("statefulroute.link.notices.trusted").gauge()).isNull();
            assertThat(registry.find("statefulroute.link.notices").functionCounters()).hasSize(2);
        });
    }

    private static String failureMessages(Throwable failure) {
        StringBuilder messages = new StringBuilder();
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            messages.append(cause.getMessage()).append('\n');
        }
        return messages.toString();
    }

    private static String uniquePrefix() {
        return "sr-test-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Stands for a Jedis factory (not on the test classpath); never asked for a connection. */
    static final class NotLettuceConnectionFactory implements RedisConnectionFactory {

        @Override
        public boolean getConvertPipelineAndTxResults() {
            return false;
        }

        @Override
        public RedisConnection getConnection() {
            throw new UnsupportedOperationException();
        }

        @Override
        public RedisClusterConnection getClusterConnection() {
            throw new UnsupportedOperationException();
        }

        @Override
        public RedisSentinelConnection getSentinelConnection() {
            throw new UnsupportedOperationException();
        }

        @Override
        public DataAccessException translateExceptionIfPossible(RuntimeException ex) {
            return null;
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class UserExecutorConfiguration {

        @Bean(destroyMethod = "shutdown")
        RedisClient userRedisClient() {
            return RedisClient.create(redis.uri());
        }

        @Bean(destroyMethod = "close")
        StatefulExecutor userExecutor(RedisClient userRedisClient) {
            return RedisStatefulExecutor.builder()
                .ownedConnection(userRedisClient.connect(StringCodec.UTF8))
                .keyPrefix(uniquePrefix())
                .build();
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class UserBeansConfiguration {

        @Bean(destroyMethod = "close")
        StatefulExecutor userExecutor(LettuceConnectionFactory connectionFactory) {
            return RedisStatefulExecutor.builder()
                .ownedConnection(SpringDataRedisConnections.open(connectionFactory))
                .keyPrefix(uniquePrefix())
                .build();
        }

        @Bean
        ServiceStateCache userStates(StatefulExecutor userExecutor) {
            return new ServiceStateCache(userExecutor, Duration.ofSeconds(9));
        }

        @Bean
        PodSelector userSelector() {
            return (service, routable) -> routable.get(0);
        }

        @Bean
        RouteInfoDriver userRouteInfo(ServiceStateCache userStates, PodSelector userSelector) {
            return new RouteInfoDriver(userStates, userSelector);
        }

        @Bean
        StatefulRouteForClientDriver userClient(StatefulExecutor userExecutor, RouteInfoDriver userRouteInfo) {
            return new StatefulRouteForClientDriver(userExecutor, userRouteInfo, ClientOptions.defaults("default"));
        }

        @Bean
        StatefulRouteForServerDriver userServer(StatefulExecutor userExecutor) {
            return new StatefulRouteForServerDriver(userExecutor,
                    new ServerOptions(new PodIdentity("default", "chat", 0), 0.5, Duration.ZERO), () -> 3);
        }

        @Bean
        ReadinessDrainListener userReadiness(StatefulRouteForServerDriver userServer) {
            return new ReadinessDrainListener(userServer);
        }

        @Bean
        StatefulRouteLifecycle userLifecycle(ServiceStateCache userStates, StatefulRouteForServerDriver userServer) {
            return new StatefulRouteLifecycle(userStates, null, userServer, new StatefulRouteLifecycle.Settings(
                    Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(3), true, false));
        }

        @Bean
        StatefulRouteEndpoint userEndpoint(StatefulRouteForClientDriver userClient) {
            return new StatefulRouteEndpoint(userClient, null);
        }

        @Bean
        StatefulRouteMeterBinder userMeterBinder(StatefulRouteForClientDriver userClient) {
            return new StatefulRouteMeterBinder(userClient, null);
        }

        @Bean
        HealthIndicator statefulRouteHealthIndicator(StatefulRouteForServerDriver userServer) {
            return new StatefulRouteHealthIndicator(userServer);
        }

    }

}
