package io.statefulroute.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;
import java.util.stream.Collectors;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.statefulroute.actuate.StatefulRouteEndpoint;
import io.statefulroute.analyzer.BuiltInRules;
import io.statefulroute.analyzer.Finding;
import io.statefulroute.analyzer.PerformanceAnalyzer;
import io.statefulroute.core.ForeignNamespaceException;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisCallListener;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.Flood;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A gateway whose clients send 100,000 unknown service names and 100,000 unknown namespaces
 * through {@code computeLinkedPod}, and {@value #ENDPOINT_NAMES} unknown service names to the
 * actuator endpoint (32 threads, as each read blocks): tracked services, meters and analyzer findings stay within their caps, each
 * refresh reads only the tracked services, and the known service keeps routing.
 */
class HostileNamesTests {

    private static final RedisServer redis = RedisServers.shared();

    private static final int NAMES = 100_000;

    private static final int ENDPOINT_NAMES = 100_000;

    private static final int IN_FLIGHT = 256;

    private static final int MAX_SERVICES = 10;

    private final LongAdder stateReads = new LongAdder();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class, MetricsAutoConfiguration.class,
                SimpleMetricsExportAutoConfiguration.class, CompositeMeterRegistryAutoConfiguration.class,
                StatefulRouteAutoConfiguration.class, StatefulRouteMetricsAutoConfiguration.class,
                StatefulRouteAnalyzerAutoConfiguration.class, StatefulRouteEndpointAutoConfiguration.class))
        .withBean("countingStateReads", RedisCallListener.class, () -> new RedisCallListener() {
            @Override
            public void finished(Object token, String operation, long nanos, Throwable error) {
                if ("getServiceState".equals(operation)) {
                    HostileNamesTests.this.stateReads.increment();
                }
            }
        })
        .withPropertyValues("spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
                "stateful-route.key-prefix=sr-hostile-" + UUID.randomUUID().toString().substring(0, 8),
                "stateful-route.namespace=gw", "stateful-route.server.service=chat",
                "stateful-route.server.pod-index=0", "stateful-route.server.drain-period=0s",
                // the test is about bounds, not latency: a loaded build machine must not time calls out
                "stateful-route.command-timeout=30s", "stateful-route.state.pod-expiry=40s",
                "stateful-route.state.refresh-period=100ms",
                // its rounds read the pod's own service too, which the refresh count below would take for a leak
                "stateful-route.server.rebalance.enabled=false",
                "stateful-route.state.max-services=" + MAX_SERVICES, "stateful-route.state.services=billing",
                "management.endpoints.web.exposure.include=statefulroute");

    @Test
    void unknownNamesCreateNoViewsMetersOrFindings() {
        this.contextRunner.run((context) -> {
            StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
            StatefulRouteEndpoint endpoint = context.getBean(StatefulRouteEndpoint.class);
            ServiceStateCache states = context.getBean(ServiceStateCache.class);
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            // this pod's first heartbeat went out when the context started; its first look-up tracks it
            assertThat(client.computeLinkedPod("gw", "known-user", "chat")).isZero();
            assertThat(states.isTracked("gw", "chat")).isTrue();
            long started = System.nanoTime();

            AtomicInteger known = new AtomicInteger();
            assertThat(flood((i) -> client.computeLinkedPodAsync("gw", "user", "no-such-service-" + i), client, known))
                .isEqualTo(NAMES);
            assertThat(flood((i) -> client.computeLinkedPodAsync("no-such-ns-" + i, "user", "chat"), client, known))
                .isEqualTo(NAMES);
            long endpointStarted = System.nanoTime();
            assertThat(endpointFlood(endpoint)).as("unknown services the endpoint answered 404 (null) for")
                .isEqualTo(ENDPOINT_NAMES);
            long endpointMillis = (System.nanoTime() - endpointStarted) / 1_000_000;
            assertThat(known.get()).as("known user routed during the floods").isEqualTo(2 * NAMES / 100);
            System.out.printf("HostileNamesTests: 2 x %,d unknown names routed and %,d read through the endpoint in "
                    + "%,d ms (endpoint %,d ms)%n", NAMES, ENDPOINT_NAMES, (System.nanoTime() - started) / 1_000_000,
                    endpointMillis);

            assertThat(states.views()).extracting((view) -> view.service()).containsExactlyInAnyOrder("chat", "billing");
            assertThat(states.untrackedCount()).isLessThanOrEqualTo(10_000);
            assertThat(endpoint.route().services()).hasSize(2);

            // a refresh period reads the tracked services only
            long refreshes = states.stats().refreshes();
            long reads = this.stateReads.sum();
            await().atMost(Duration.ofSeconds(10)).until(() -> states.stats().refreshes() >= refreshes + 5);
            long refreshed = states.stats().refreshes() - refreshes;
            assertThat(this.stateReads.sum() - reads).isLessThanOrEqualTo((refreshed + 1) * 2);

            // meters: only the tracked services (and the shared "_untracked" timers) carry service tags
            Set<String> tagged = registry.getMeters()
                .stream()
                .map((meter) -> meter.getId().getTag("service"))
                .filter((service) -> service != null)
                .collect(Collectors.toSet());
            assertThat(tagged).containsExactlyInAnyOrder("chat", "billing", "_untracked");
            assertThat(registry.getMeters()).hasSizeLessThan(150);
            assertThat(registry.getMeters().stream().map(Meter::getId).map((id) -> id.getTag("namespace")))
                .allMatch((namespace) -> namespace == null || namespace.equals("gw") || namespace.equals("_untracked"));

            // findings: about tracked services only; the configured one without pods is down
            List<Finding> findings = context.getBean(PerformanceAnalyzer.class).analyze().findings();
            assertThat(findings).filteredOn((finding) -> finding.rule().equals(BuiltInRules.NO_ROUTABLE_POD))
                .extracting(Finding::subject)
                .containsExactly("gw/billing");
            assertThat(findings).extracting(Finding::subject).noneMatch((subject) -> subject.contains("no-such"));
            assertThat(client.computeLinkedPod("gw", "known-user", "chat")).isZero();
        });
    }

    /**
     * Runs {@code NAMES} calls, at most {@value #IN_FLIGHT} in flight, each expected to be refused;
     * one in 100 is followed by a routing call of the known user.
     * @return how many were refused
     */
    private static int flood(IntFunction<CompletableFuture<Integer>> call, StatefulRouteForClientDriver client,
            AtomicInteger known) throws InterruptedException {
        Flood.Result result = new Flood(IN_FLIGHT, 100,
                () -> client.computeLinkedPodAsync("gw", "known-user", "chat").thenApply((pod) -> pod == 0))
            .run(NAMES, call,
                    (cause) -> cause instanceof NoRoutablePodException || cause instanceof ForeignNamespaceException);
        assertThat(result.unexpected()).isEmpty();
        known.addAndGet(result.sideCallsRight());
        return result.failedAsExpected();
    }

    /** The endpoint's read of one service, for many unknown names at once (the endpoint blocks). */
    private static int endpointFlood(StatefulRouteEndpoint endpoint) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(32);
        try {
            List<CompletableFuture<Boolean>> answers = new ArrayList<>(ENDPOINT_NAMES);
            for (int i = 0; i < ENDPOINT_NAMES; i++) {
                String service = "no-such-endpoint-service-" + i;
                answers.add(CompletableFuture.supplyAsync(() -> endpoint.service(service) == null, threads));
            }
            int notFound = 0;
            for (CompletableFuture<Boolean> answer : answers) {
                notFound += answer.get() ? 1 : 0;
            }
            return notFound;
        }
        finally {
            threads.shutdownNow();
        }
    }

}
