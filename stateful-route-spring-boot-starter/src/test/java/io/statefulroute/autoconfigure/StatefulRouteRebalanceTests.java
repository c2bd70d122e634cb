package io.statefulroute.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.statefulroute.actuate.StatefulRouteEndpoint;
import io.statefulroute.actuate.StatefulRouteMeterBinder;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.rebalance.MoveConsent;
import io.statefulroute.core.rebalance.RebalanceOptions;
import io.statefulroute.core.rebalance.RebalanceRound;
import io.statefulroute.core.rebalance.Rebalancer;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.lifecycle.RebalancerLifecycle;
import io.statefulroute.lifecycle.StatefulRouteLifecycle;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Rebalancing in the starter, on a real Redis: the {@code stateful-route.server.rebalance.*}
 * properties, the {@link Rebalancer} bean of a pod and the application's {@link MoveConsent},
 * the lifecycle that runs its rounds, its meters and its part of the endpoint.
 * {@code it.RebalancingIntegrationTests} runs pods that even out their users.
 */
class StatefulRouteRebalanceTests {

    private static final RedisServer redis = RedisServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class, StatefulRouteAutoConfiguration.class,
                StatefulRouteEndpointAutoConfiguration.class, StatefulRouteMetricsAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
                "stateful-route.key-prefix=sr-test-" + UUID.randomUUID().toString().substring(0, 8),
                "stateful-route.server.drain-period=0s", "stateful-route.server.service=chat",
                "management.endpoints.web.exposure.include=statefulroute");

    @Test
    void aPodRebalancesByDefaultWithTheCoresDefaultsAndNoConsent() {
        String namespace = freshNamespace();
        this.contextRunner.withPropertyValues("stateful-route.namespace=" + namespace, "stateful-route.server.pod-index=0")
            .run((context) -> {
                assertThat(context).hasSingleBean(Rebalancer.class).hasSingleBean(RebalancerLifecycle.class);
                StatefulRouteProperties.Rebalance properties = context.getBean(StatefulRouteProperties.class)
                    .getServer()
                    .getRebalance();
                assertThat(properties.isEnabled()).isTrue();
                assertThat(new RebalanceOptions(properties.getInterval(), properties.getTolerance(),
                        properties.getMaxShare(), properties.getMaxMovesPerSecond()))
                    .isEqualTo(RebalanceOptions.DEFAULTS);
                Rebalancer rebalancer = context.getBean(Rebalancer.class);
                assertThat(rebalancer.options()).isEqualTo(RebalanceOptions.DEFAULTS);
                assertThat(rebalancer.isEnabled()).isTrue();
                assertThat(rebalancer.hasConsent()).isFalse();
                assertThat(context.getBean(RebalancerLifecycle.class).isRunning()).isTrue();
                assertThat(roundsThread(namespace + "/chat-0")).isTrue();
            });
    }

    @Test
    void propertiesSetThePacing() {
        this.contextRunner.withPropertyValues("stateful-route.server.pod-index=0",
                "stateful-route.server.rebalance.interval=200ms", "stateful-route.server.rebalance.tolerance=0",
                "stateful-route.server.rebalance.max-share=1", "stateful-route.server.rebalance.max-moves-per-second=500")
            .run((context) -> assertThat(context.getBean(Rebalancer.class).options())
                .isEqualTo(new RebalanceOptions(Duration.ofMillis(200), 0, 1, 500)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            stateful-route.server.rebalance.interval=0s                | server.rebalance.interval          | must be a positive duration
            stateful-route.server.rebalance.interval=-1s               | server.rebalance.interval          | must be a positive duration
            stateful-route.server.rebalance.tolerance=-0.1             | server.rebalance.tolerance         | must be zero or a positive number
            stateful-route.server.rebalance.tolerance=Infinity         | server.rebalance.tolerance         | must be zero or a positive number
            stateful-route.server.rebalance.max-share=0                | server.rebalance.maxShare          | must be above 0 and at most 1
            stateful-route.server.rebalance.max-share=1.5              | server.rebalance.maxShare          | must be above 0 and at most 1
            stateful-route.server.rebalance.max-share=NaN              | server.rebalance.maxShare          | must be above 0 and at most 1
            stateful-route.server.rebalance.max-moves-per-second=0     | server.rebalance.maxMovesPerSecond | must be at least 1
            """)
    void invalidRebalancePropertyFailsStartup(String property, String field, String reason) {
        this.contextRunner.withPropertyValues("stateful-route.server.pod-index=0", property).run((context) -> {
            assertThat(context).hasFailed();
            assertThat(context).getFailure()
                .hasStackTraceContaining("Binding validation errors on stateful-route")
                .hasStackTraceContaining("on field '" + field + "'")
                .hasStackTraceContaining("default message [" + reason);
        });
    }

    @Test
    void noRebalancerWhenSwitchedOffOrNotAPod() {
        String namespace = freshNamespace();
        this.contextRunner.withPropertyValues("stateful-route.namespace=" + namespace, "stateful-route.server.pod-index=0",
                "stateful-route.server.rebalance.enabled=false")
            .run((context) -> {
                assertThat(context).hasSingleBean(StatefulRouteForServerDriver.class)
                    .doesNotHaveBean(Rebalancer.class)
                    .doesNotHaveBean(RebalancerLifecycle.class);
                assertThat(roundsThread(namespace + "/chat-0")).isFalse();
                MeterRegistry registry = new SimpleMeterRegistry();
                context.getBean(StatefulRouteMeterBinder.class).bindTo(registry);
                assertThat(registry.find("statefulroute.rebalance.enabled").gauge()).isNull();
                assertThat(registry.find("statefulroute.rebalance.moves").functionCounters()).isEmpty();
                StatefulRouteEndpoint endpoint = context.getBean(StatefulRouteEndpoint.class);
                assertThat(endpoint.route().pod().rebalance()).isNull();
                assertThatThrownBy(() -> endpoint.updatePod(null, null, true))
                    .isInstanceOf(InvalidEndpointRequestException.class)
                    .hasMessageContaining("stateful-route.server.rebalance.enabled is false");
            });
        this.contextRunner.withPropertyValues("stateful-route.server.enabled=false")
            .run((context) -> assertThat(context).hasNotFailed()
                .doesNotHaveBean(Rebalancer.class)
                .doesNotHaveBean(RebalancerLifecycle.class));
    }

    /**
     * The application's consent decides, asked for each user moved to the pod below the mean
     * (a second pod of the service, started here, holding none).
     */
    @Test
    void theApplicationsMoveConsentIsAskedAndTheUsersItLetsGoMove() {
        String namespace = freshNamespace();
        List<String> asked = new CopyOnWriteArrayList<>();
        List<String> moved = new CopyOnWriteArrayList<>();
        MoveConsent consent = new MoveConsent() {
            @Override
            public boolean mayMove(String uid, int targetPod) {
                asked.add(uid + "->" + targetPod);
                return true;
            }

            @Override
            public void moved(String uid, int targetPod) {
                moved.add(uid);
            }
        };
        this.contextRunner.withBean(MoveConsent.class, () -> consent)
            .withPropertyValues("stateful-route.namespace=" + namespace, "stateful-route.server.pod-index=0",
                    "stateful-route.state.refresh-period=100ms", "stateful-route.state.relink-grace=200ms",
                    // no scheduled round: the test runs the one it checks
                    "stateful-route.server.rebalance.interval=1h", "stateful-route.server.rebalance.max-share=0.5")
            .run((context) -> {
                Rebalancer rebalancer = context.getBean(Rebalancer.class);
                assertThat(rebalancer.hasConsent()).isTrue();
                StatefulRouteForServerDriver pod = context.getBean(StatefulRouteForServerDriver.class);
                List<String> users = IntStream.range(0, 10).mapToObj((i) -> "player-" + i).toList();
                users.forEach((uid) -> pod.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER));
                await().atMost(Duration.ofSeconds(5)).until(() -> users.stream().allMatch(pod::owns));
                StatefulExecutor executor = context.getBean(StatefulExecutor.class);
                StatefulRouteForServerDriver empty = new StatefulRouteForServerDriver(executor,
                        new ServerOptions(new PodIdentity(namespace, "chat", 1), 0, Duration.ZERO)
                            .withLease(Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMillis(200)));
                empty.start();
                try {
                    RebalanceRound round = rebalancer.runRound();
                    assertThat(round.decision()).isEqualTo(RebalanceRound.Decision.PROPOSED);
                    assertThat(round.mean()).isEqualTo(5.0);
                    assertThat(round.proposed()).isEqualTo(Map.of(1, 5));
                    assertThat(round.moved()).isEqualTo(5);
                    assertThat(asked).hasSize(5).allSatisfy((question) -> assertThat(question).endsWith("->1"));
                    assertThat(moved).hasSize(5).allSatisfy((uid) -> assertThat(pod.owns(uid)).isFalse());
                    Map<Integer, List<String>> links = executor.batchGetLinkedPod(namespace, users, "chat");
                    assertThat(links.get(1)).containsExactlyInAnyOrderElementsOf(moved);
                    assertThat(links.get(0)).hasSize(5).allSatisfy((uid) -> assertThat(pod.owns(uid)).isTrue());
                }
                finally {
                    empty.stop();
                }
            });
    }

    @Test
    void theApplicationsOwnRebalancerReplacesOursAndRunsWithThePod() {
        String namespace = freshNamespace();
        this.contextRunner.withUserConfiguration(UserRebalancerConfiguration.class)
            .withPropertyValues("stateful-route.namespace=" + namespace, "stateful-route.server.pod-index=0")
            .run((context) -> {
                assertThat(context).hasSingleBean(Rebalancer.class).hasBean("userRebalancer");
                assertThat(context).hasSingleBean(RebalancerLifecycle.class);
                assertThat(roundsThread(namespace + "/chat-0")).isTrue();
                assertThat(context.getBean(StatefulRouteEndpoint.class).route().pod().rebalance().options().intervalMillis())
                    .isEqualTo(60_000);
            });
    }

    @Configuration(proxyBeanMethods = false)
    static class UserRebalancerConfiguration {

        @Bean
        Rebalancer userRebalancer(StatefulRouteForServerDriver server, ServiceStateCache states) {
            return new Rebalancer(server, states, new RebalanceOptions(Duration.ofMinutes(1), 0.5, 0.5, 5),
                    MoveConsent.NONE);
        }

    }

    @Test
    void withSchedulingOffTheApplicationRunsTheRounds() {
        String namespace = freshNamespace();
        this.contextRunner.withPropertyValues("stateful-route.namespace=" + namespace, "stateful-route.server.pod-index=0",
                "stateful-route.scheduling.enabled=false")
            .run((context) -> {
                assertThat(context.getBean(RebalancerLifecycle.class).isRunning()).isTrue();
                assertThat(roundsThread(namespace + "/chat-0")).isFalse();
                // the only pod of its service: nobody to compare with
                assertThat(context.getBean(Rebalancer.class).runRound().decision())
                    .isEqualTo(RebalanceRound.Decision.NO_PEERS);
            });
    }

    @Test
    void roundsStartAfterThePodAndStopBeforeItDrains() {
        assertThat(RebalancerLifecycle.PHASE).isGreaterThan(StatefulRouteLifecycle.PHASE);
        String namespace = freshNamespace();
        this.contextRunner.withPropertyValues("stateful-route.namespace=" + namespace, "stateful-route.server.pod-index=0")
            .run((context) -> {
                assertThat(context.getBean(RebalancerLifecycle.class).getPhase()).isEqualTo(RebalancerLifecycle.PHASE);
                assertThat(roundsThread(namespace + "/chat-0")).isTrue();
            });
        await().atMost(Duration.ofSeconds(5)).until(() -> !roundsThread(namespace + "/chat-0"));
    }

    @Test
    void metersShowTheRoundsTheMovesByResultAndWhetherRebalancingIsOn() {
        this.contextRunner.withPropertyValues("stateful-route.server.pod-index=3").run((context) -> {
            MeterRegistry registry = new SimpleMeterRegistry();
            context.getBean(StatefulRouteMeterBinder.class).bindTo(registry);
            for (String result : List.of("proposed", "accepted", "refused", "completed", "failed")) {
                assertThat(registry.get("statefulroute.rebalance.moves")
                    .tags("service", "chat", "pod", "3", "result", result)
                    .functionCounter()
                    .count()).as(result).isZero();
            }
            Rebalancer rebalancer = context.getBean(Rebalancer.class);
            rebalancer.runRound();
            assertThat(registry.get("statefulroute.rebalance.rounds").tag("pod", "3").functionCounter().count())
                .isEqualTo(rebalancer.stats().rounds())
                .isPositive();
            assertThat(registry.get("statefulroute.rebalance.enabled").tag("pod", "3").gauge().value()).isEqualTo(1.0);
            rebalancer.setEnabled(false);
            assertThat(registry.get("statefulroute.rebalance.enabled").tag("pod", "3").gauge().value()).isZero();
        });
    }

    @Test
    void endpointShowsTheRebalancingAndSwitchesItOffAndOn() {
        this.contextRunner.withBean(MoveConsent.class, () -> (uid, targetPod) -> false)
            .withPropertyValues("stateful-route.server.pod-index=0", "stateful-route.server.rebalance.interval=1h")
            .run((context) -> {
                StatefulRouteEndpoint endpoint = context.getBean(StatefulRouteEndpoint.class);
                Rebalancer rebalancer = context.getBean(Rebalancer.class);
                StatefulRouteEndpoint.RebalanceDescriptor shown = endpoint.route().pod().rebalance();
                assertThat(shown.enabled()).isTrue();
                assertThat(shown.consent()).isTrue();
                assertThat(shown.options())
                    .isEqualTo(new StatefulRouteEndpoint.RebalanceOptionsDescriptor(3_600_000, 0.1, 0.1, 20));
                assertThat(shown.stats().rounds()).isZero();
                assertThat(shown.lastRound()).isNull();

                rebalancer.runRound();
                StatefulRouteEndpoint.RebalanceRoundDescriptor round = endpoint.route().pod().rebalance().lastRound();
                assertThat(round.decision()).isEqualTo(RebalanceRound.Decision.NO_PEERS);
                assertThat(round.mean()).isNull();
                assertThat(endpoint.route().pod().rebalance().stats().rounds()).isOne();

                StatefulRouteEndpoint.PodDescriptor off = endpoint.updatePod(null, null, false);
                assertThat(off.rebalance().enabled()).isFalse();
                assertThat(rebalancer.isEnabled()).isFalse();
                assertThat(rebalancer.runRound().decision()).isEqualTo(RebalanceRound.Decision.DISABLED);
                assertThat(endpoint.updatePod(null, null, true).rebalance().enabled()).isTrue();
                assertThat(rebalancer.isEnabled()).isTrue();
            });
    }

    private static String freshNamespace() {
        return "rebalance-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Whether the thread of a rebalancer's rounds runs for the pod (ns/service-index). */
    private static boolean roundsThread(String pod) {
        return Thread.getAllStackTraces()
            .keySet()
            .stream()
            .anyMatch((thread) -> thread.isAlive() && thread.getName().equals("stateful-route-rebalance-" + pod));
    }

}
