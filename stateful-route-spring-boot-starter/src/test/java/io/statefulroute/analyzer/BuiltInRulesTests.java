package io.statefulroute.analyzer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Each built-in rule driven by real routing on a real Redis, recorded by the starter's
 * listener into a {@link io.micrometer.core.instrument.simple.SimpleMeterRegistry}: no meter
 * value is set by hand.
 */
class BuiltInRulesTests {

    private static final RedisServer redis = RedisServers.shared();

    @Test
    void aHealthySystemHasNoFinding() {
        warmUp();
        try (Gateway gateway = new Gateway(redis, Duration.ofSeconds(2)).withPods(RoutingState.READY, 12)) {
            gateway.load(10);
            for (int round = 0; round < 10; round++) {
                for (int user = 0; user < 25; user++) {
                    gateway.route("user-" + user);
                }
            }
            gateway.refresh();
            PerformanceReport report = gateway.analyzer(rulesOfAHealthySystem()).analyze();
            assertThat(report.findings()).isEmpty();
            // every rule had data to judge
            assertThat(report.measurements()).containsKeys("link-cache.hit-rate", "redis.error-rate",
                    "heartbeat.failures", "service.pods.routable{" + gateway.subject() + "}",
                    "service.load.max-to-mean{" + gateway.subject() + "}",
                    "service.state.age-seconds{" + gateway.subject() + "}",
                    "routing.p99-seconds{" + gateway.subject() + " new_link}");
            // 225 hits of 250 lookups: each of the 25 users misses once
            assertThat(report.measurements().get("link-cache.hit-rate")).isEqualTo(225.0 / 250);
        }
    }

    /**
     * The defaults, with a routing latency a loaded CI machine cannot miss: on 2 shared cores a
     * single preempted call makes the p99 of 25 decisions; the latency rule itself is checked
     * against a Redis that really stalls ({@link #routingP99AboveThresholdWhileRedisStalls}).
     */
    private static List<PerformanceRule> rulesOfAHealthySystem() {
        return BuiltInRules.defaults()
            .stream()
            .map((rule) -> rule.id().equals(BuiltInRules.ROUTING_LATENCY)
                    ? BuiltInRules.routingLatency(Duration.ofSeconds(1), 20) : rule)
            .toList();
    }

    /** Routes through every code path on a gateway of its own first, so a cold JVM is not measured. */
    private static void warmUp() {
        try (Gateway warm = new Gateway(redis, Duration.ofSeconds(2)).withPods(RoutingState.READY, 0)) {
            for (int user = 0; user < 30; user++) {
                warm.route("warm-" + user);
            }
        }
    }

    @Test
    void lowLinkCacheHitRate() {
        try (Gateway gateway = new Gateway(redis, Duration.ofSeconds(2)).withPods(RoutingState.READY, 0)) {
            for (int user = 0; user < 150; user++) {
                gateway.route("once-" + user);
            }
            List<Finding> findings = gateway.analyzer(List.of(BuiltInRules.linkCacheHitRate(0.8, 100)))
                .analyze()
                .findings();
            assertThat(findings).singleElement().satisfies((finding) -> {
                assertThat(finding.rule()).isEqualTo(BuiltInRules.LINK_CACHE_HIT_RATE);
                assertThat(finding.measured()).isZero();
                assertThat(finding.threshold()).isEqualTo(0.8);
                assertThat(finding.suggestion()).contains("stateful-route.cache.maximum-size");
            });
        }
    }

    @Test
    void routingP99AboveThresholdWhileRedisStalls() throws Exception {
        try (Gateway gateway = new Gateway(redis, Duration.ofSeconds(2)).withPods(RoutingState.READY, 0);
                RedisClient admin = RedisClient.create(redis.uri());
                StatefulRedisConnection<String, String> connection = admin.connect()) {
            gateway.route("warm-up");
            // Redis serves no client for 300 ms: every new user's decision waits for it
            connection.sync().clientPause(300);
            List<CompletableFuture<Integer>> routes = new ArrayList<>();
            for (int user = 0; user < 25; user++) {
                routes.add(gateway.client.computeLinkedPodAsync(gateway.namespace, "stalled-" + user, Gateway.SERVICE));
            }
            CompletableFuture.allOf(routes.toArray(CompletableFuture[]::new)).get();
            List<Finding> findings = gateway.analyzer(List.of(BuiltInRules.routingLatency(Duration.ofMillis(50), 20)))
                .analyze()
                .findings();
            assertThat(findings).singleElement().satisfies((finding) -> {
                assertThat(finding.rule()).isEqualTo(BuiltInRules.ROUTING_LATENCY);
                assertThat(finding.subject()).isEqualTo(gateway.subject() + " new_link");
                assertThat(finding.measured()).isGreaterThan(0.1);
                assertThat(finding.threshold()).isEqualTo(0.05);
            });
        }
    }

    @Test
    void serviceWithNoRoutablePod() {
        try (Gateway gateway = new Gateway(redis, Duration.ofSeconds(2)).withPods(RoutingState.DENY_NEW_CALL, 0)) {
            assertThatThrownBy(() -> gateway.route("newcomer")).isInstanceOf(NoRoutablePodException.class);
            gateway.refresh();
            List<Finding> findings = gateway.analyzer(List.of(BuiltInRules.noRoutablePod())).analyze().findings();
            assertThat(findings).singleElement().satisfies((finding) -> {
                assertThat(finding.rule()).isEqualTo(BuiltInRules.NO_ROUTABLE_POD);
                assertThat(finding.severity()).isEqualTo(Severity.CRITICAL);
                assertThat(finding.subject()).isEqualTo(gateway.subject());
                assertThat(finding.measured()).isZero();
                assertThat(finding.message()).contains("2 alive");
                assertThat(finding.suggestion()).contains("draining");
            });
        }
    }

    @Test
    void loadImbalanceBetweenPods() {
        try (Gateway gateway = new Gateway(redis, Duration.ofSeconds(2)).withPods(RoutingState.READY, 10)) {
            gateway.load(100);
            gateway.route("someone");
            gateway.refresh();
            List<Finding> findings = gateway.analyzer(List.of(BuiltInRules.loadImbalance(1.5, 1))).analyze().findings();
            assertThat(findings).singleElement().satisfies((finding) -> {
                assertThat(finding.rule()).isEqualTo(BuiltInRules.LOAD_IMBALANCE);
                assertThat(finding.measured()).isCloseTo(100 / 55.0, org.assertj.core.data.Offset.offset(1e-9));
                assertThat(finding.message()).startsWith("Pod 0 of " + gateway.subject());
            });
        }
    }

    @Test
    void redisOutageRaisesErrorRateHeartbeatAndStaleStateFindings() throws Exception {
        try (RedisServer own = RedisServers.standalone().start();
                Gateway gateway = new Gateway(own, Duration.ofMillis(200)).withPods(RoutingState.READY, 0)) {
            for (int user = 0; user < 20; user++) {
                gateway.route("before-" + user);
            }
            gateway.refresh();
            own.stop();
            List<CompletableFuture<?>> failing = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                failing.add(gateway.pod.heartbeatAsync());
            }
            for (int user = 0; user < 5; user++) {
                failing.add(gateway.client.computeLinkedPodAsync(gateway.namespace, "during-" + user, Gateway.SERVICE));
            }
            CompletableFuture.allOf(failing.toArray(CompletableFuture[]::new)).handle((done, ex) -> null).get();
            gateway.refresh();
            PerformanceAnalyzer analyzer = gateway.analyzer(List.of(BuiltInRules.redisErrorRate(0.01, 20),
                    BuiltInRules.heartbeatFailures(0), BuiltInRules.stalePodStates(Duration.ofMillis(300))));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                PerformanceReport report = analyzer.analyze();
                assertThat(report.findings()).extracting(Finding::rule)
                    .containsExactlyInAnyOrder(BuiltInRules.REDIS_ERROR_RATE, BuiltInRules.HEARTBEAT_FAILURES,
                            BuiltInRules.STALE_POD_STATES);
                Finding heartbeat = report.findings(BuiltInRules.HEARTBEAT_FAILURES).get(0);
                assertThat(heartbeat.severity()).isEqualTo(Severity.CRITICAL);
                assertThat(heartbeat.measured()).isEqualTo(3);
                Finding errors = report.findings(BuiltInRules.REDIS_ERROR_RATE).get(0);
                assertThat(errors.measured()).isGreaterThan(0.01);
                assertThat(errors.message()).contains("heartbeat=3.0", "setLinkedPodIfAbsent=5.0");
            });
        }
    }

}
