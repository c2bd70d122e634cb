package io.statefulroute.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;

import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Grafana dashboard and the alert rules against running applications: two pods of
 * "lobby" and a gateway-like client application that routes users to them and follows link
 * changes, each a web server with actuator and the Prometheus registry, on a real Redis. A run
 * gives every meter samples (new, returning and pod-held users, a take between pods, a pod that
 * dies, a drain), then every metric, label and label value the dashboard's queries and the alert
 * rules name must be in what the applications expose on {@code /actuator/prometheus}: a renamed
 * meter or tag fails the build. The run is sampled every half second, and what the dashboard's
 * first panels would show is drawn to {@code target/observability/dashboard-run.svg} (the
 * chart in docs/observability.md).
 */
@SpringBootTest(classes = TestApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DirtiesContext
class DashboardQueriesIntegrationTests {

    private static final RedisServer redis = RedisServers.shared();

    private static final String NAMESPACE = "dash";

    private static final String SERVICE = "lobby";

    private static final Map<String, String> LOBBY = Map.of("namespace", NAMESPACE, "service", SERVICE);

    /** Labels Prometheus gives a target when it scrapes it: no application exposes them. */
    private static final Set<String> TARGET_LABELS = Set.of("job", "instance");

    /**
     * Shared by the gateway and the pods. Short timings keep the run short and stay within the
     * timing inequality: heartbeat + command timeout (1.25 s) below pod expiry - lease margin (1.6 s).
     */
    private static final List<String> PROPERTIES = List.of("stateful-route.namespace=" + NAMESPACE,
            "stateful-route.key-prefix=sr-dash-" + UUID.randomUUID().toString().substring(0, 8),
            "stateful-route.command-timeout=1s", "stateful-route.server.heartbeat-period=250ms",
            "stateful-route.server.drain-period=0s", "stateful-route.state.pod-expiry=2s",
            "stateful-route.state.relink-grace=1s", "stateful-route.state.refresh-period=250ms",
            "management.endpoints.web.exposure.include=prometheus");

    private static final Duration SAMPLE_PERIOD = Duration.ofMillis(500);

    @LocalServerPort
    private int port;

    @Autowired
    private StatefulRouteForClientDriver gateway;

    @Autowired
    private StatefulExecutor gatewayExecutor;

    private final List<ConfigurableApplicationContext> pods = new ArrayList<>();

    private final List<Moment> moments = new CopyOnWriteArrayList<>();

    private final List<RunChart.Event> events = new ArrayList<>();

    /** Users routed so far, the ones that come back drawn from the latest. */
    private final List<String> users = new CopyOnWriteArrayList<>();

    private final AtomicInteger newUsers = new AtomicInteger();

    private final AtomicInteger returning = new AtomicInteger();

    private long started;

    /** One sample of every application's scrape. */
    private record Moment(double seconds, PrometheusScrape gateway, List<PrometheusScrape> pods) {
    }

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("spring.data.redis.host", redis::host);
        registry.add("spring.data.redis.port", redis::port);
        for (String property : PROPERTIES) {
            String[] keyValue = property.split("=", 2);
            registry.add(keyValue[0], () -> keyValue[1]);
        }
    }

    @BeforeAll
    void runScenarioGivingEveryMeterSamples() {
        this.pods.add(startPod(0));
        this.pods.add(startPod(1));
        StatefulRouteForServerDriver pod0 = server(0);
        StatefulRouteForServerDriver pod1 = server(1);
        ScheduledExecutorService threads = Executors.newScheduledThreadPool(2);
        this.started = System.nanoTime();
        try {
            threads.scheduleAtFixedRate(this::sample, 0, SAMPLE_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
            threads.scheduleAtFixedRate(this::routeUsers, 0, 20, TimeUnit.MILLISECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> gatewaySees("statefulroute_service_pods_routable") == 2);
            holdFor(6);

            event("pod 0 takes 20 users, pod 1 takes 5 of them");
            List<String> held = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String uid = "held-" + i;
                pod0.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
                held.add(uid);
                // the gateway has not cached them: an existing link, read from Redis
                assertThat(this.gateway.computeLinkedPod(NAMESPACE, uid, SERVICE)).isZero();
            }
            this.users.addAll(held);
            for (String uid : held.subList(0, 5)) {
                pod1.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> pod0.leaseStatus().usersLost() == 5
                    && this.gateway.noticeStats().evicted() >= 5);
            holdFor(2);

            event("pod 2 heartbeats once, 10 users linked to it");
            this.gatewayExecutor.setServiceState(NAMESPACE, SERVICE, 2, RoutingState.READY, 0);
            await().atMost(Duration.ofSeconds(5)).until(() -> gatewaySees("statefulroute_service_pods_alive") == 3);
            List<String> doomed = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                String uid = "doomed-" + i;
                assertThat(this.gateway.setLinkedPodIfAbsent(NAMESPACE, uid, SERVICE, 2)).isEqualTo(2);
                doomed.add(uid);
            }
            this.users.addAll(doomed);
            await().atMost(Duration.ofSeconds(10)).until(() -> gatewaySees("statefulroute_service_pods_dead") == 1);
            event("pod 2 dead");
            // they come back until they are moved, which is once pod 2's lease has certainly lapsed
            // (pod expiry + relink grace after its heartbeat)
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                doomed.forEach(this::route);
                return decisions("relinked") >= doomed.size();
            });
            holdFor(2);

            event("pod 1 drains (DENY_NEW_CALL)");
            pod1.setRoutingState(RoutingState.DENY_NEW_CALL);
            await().atMost(Duration.ofSeconds(5)).until(() -> gatewaySees("statefulroute_service_pods_routable") == 1);
            holdFor(6);

            event("pod 1 READY again");
            pod1.setRoutingState(RoutingState.READY);
            await().atMost(Duration.ofSeconds(5)).until(() -> gatewaySees("statefulroute_service_pods_routable") == 2);
            holdFor(6);
        }
        finally {
            threads.shutdownNow();
        }
    }

    @AfterAll
    void stopPods() {
        this.pods.forEach(ConfigurableApplicationContext::close);
    }

    @Test
    void everyMetricAndLabelTheDashboardAndTheAlertsQueryIsExposed() {
        Map<String, List<Map<String, String>>> exposed = new HashMap<>();
        List<PrometheusScrape> scrapes = new ArrayList<>();
        scrapes.add(scrape(this.port));
        this.pods.forEach((pod) -> scrapes.add(scrape(port(pod))));
        for (PrometheusScrape scrape : scrapes) {
            scrape.samples().forEach((sample) -> exposed.computeIfAbsent(sample.name(), (name) -> new ArrayList<>())
                .add(sample.labels()));
        }

        List<String> missing = new ArrayList<>();
        for (ObservabilityFiles.Query query : ObservabilityFiles.queries()) {
            missing.addAll(missing(query, exposed));
        }
        assertThat(missing).isEmpty();

        // the check has teeth: a renamed meter, tag or tag value is reported
        assertThat(missing(new ObservabilityFiles.Query("renamed", "statefulroute_routing_decision_seconds_count",
                List.of()), exposed)).hasSize(1);
        assertThat(missing(new ObservabilityFiles.Query("renamed", "sum by (result) (statefulroute_link_notices_total"
                + "{outcome=\"evicted\"})", List.of()), exposed)).hasSize(1);
        assertThat(missing(new ObservabilityFiles.Query("renamed", "statefulroute_link_notices_total{result=\"evict\"}",
                List.of()), exposed)).hasSize(1);
    }

    @Test
    void panelsShowWhatHappenedAndTheChartIsDrawn() throws IOException {
        List<Moment> run = List.copyOf(this.moments);
        double[] seconds = run.stream().mapToDouble(Moment::seconds).toArray();
        Map<String, double[]> rates = new LinkedHashMap<>();
        Map<String, double[]> p99 = new LinkedHashMap<>();
        for (String outcome : List.of("cache_hit", "existing_link", "new_link", "relinked", "no_routable_pod", "error")) {
            Map<String, String> labels = Map.of("namespace", NAMESPACE, "service", SERVICE, "outcome", outcome);
            double[] counts = series(run, (scrape) -> scrape.sum("statefulroute_routing_decisions_seconds_count", labels));
            if (counts[counts.length - 1] > 0) {
                rates.put(outcome, perSecond(seconds, counts));
                Map<String, String> quantile = new HashMap<>(labels);
                quantile.put("quantile", "0.99");
                p99.put(outcome, series(run, (scrape) -> scrape.max("statefulroute_routing_decisions_seconds", quantile)
                        * 1000));
            }
        }
        Map<String, double[]> pods = new LinkedHashMap<>();
        for (String state : List.of("alive", "routable", "dead")) {
            pods.put(state, series(run, (scrape) -> scrape.max("statefulroute_service_pods_" + state, LOBBY)));
        }

        // what the panels show is what happened: every outcome of the run, and the pods' changes in order
        assertThat(rates.keySet()).contains("cache_hit", "existing_link", "new_link", "relinked");
        assertThat(max(rates.get("new_link"))).isGreaterThan(10);
        assertThat(max(p99.get("new_link"))).isGreaterThan(0);
        assertThat(changes(pods.get("routable"))).containsSubsequence(2.0, 3.0, 2.0, 1.0, 2.0);
        assertThat(changes(pods.get("dead"))).containsSubsequence(0.0, 1.0);

        RunChart chart = new RunChart(String.format(Locale.ROOT,
                "stateful-route, one run: a gateway routes %d new users and %d returning visits to the pods of 'lobby'",
                this.newUsers.get(), this.returning.get()),
                "Pods 0 and 1 are applications, pod 2 an entry that heartbeats once; sampled from /actuator/prometheus "
                        + "every " + SAMPLE_PERIOD.toMillis() + " ms (DashboardQueriesIntegrationTests)", seconds)
            .panel("Routing decisions per second by outcome (gateway)", "decisions/s", false, rates)
            .panel("Routing p99 by outcome (gateway, client-side percentile)", "ms (log)", true, p99)
            .panel("Pods of lobby (gateway's view of Redis)", "pods", false, pods);
        this.events.forEach((event) -> chart.event(event.seconds(), event.label()));
        Path directory = Files.createDirectories(Path.of("target", "observability"));
        Files.writeString(directory.resolve("dashboard-run.svg"), chart.svg());
        Files.writeString(directory.resolve("dashboard-run.csv"), csv(seconds, rates, p99, pods));
    }

    // ---- the run

    private ConfigurableApplicationContext startPod(int index) {
        List<String> properties = new ArrayList<>(PROPERTIES);
        properties.addAll(List.of("server.port=0", "spring.data.redis.host=" + redis.host(),
                "spring.data.redis.port=" + redis.port(), "stateful-route.server.service=" + SERVICE,
                "stateful-route.server.pod-index=" + index));
        return new SpringApplicationBuilder(TestApplication.class).web(WebApplicationType.SERVLET)
            .properties(properties.toArray(String[]::new))
            .run();
    }

    private StatefulRouteForServerDriver server(int index) {
        return this.pods.get(index).getBean(StatefulRouteForServerDriver.class);
    }

    /** Every 20 ms: one new user and four returning ones, as a gateway would route their requests. */
    private void routeUsers() {
        String newUser = "user-" + this.newUsers.incrementAndGet();
        route(newUser);
        this.users.add(newUser);
        int known = this.users.size();
        for (int i = 0; i < 4; i++) {
            // the latest 300 users come back in turn (pod-held and doomed ones included)
            int back = this.returning.getAndIncrement();
            route(this.users.get(Math.max(0, known - 300) + back % Math.min(known, 300)));
        }
    }

    private void route(String uid) {
        try {
            this.gateway.computeLinkedPod(NAMESPACE, uid, SERVICE);
        }
        catch (RuntimeException ex) {
            // counted by the routing timer under its outcome, which is what the panels show
        }
    }

    private void sample() {
        List<PrometheusScrape> pods = this.pods.stream().map((pod) -> scrape(port(pod))).toList();
        this.moments.add(new Moment((System.nanoTime() - this.started) / 1e9, scrape(this.port), pods));
    }

    private void holdFor(int samples) {
        int until = this.moments.size() + samples;
        await().atMost(SAMPLE_PERIOD.multipliedBy(samples + 10)).until(() -> this.moments.size() >= until);
    }

    private void event(String label) {
        this.events.add(new RunChart.Event((System.nanoTime() - this.started) / 1e9, label));
    }

    private double gatewaySees(String gauge) {
        return scrape(this.port).max(gauge, LOBBY);
    }

    private double decisions(String outcome) {
        return scrape(this.port).sum("statefulroute_routing_decisions_seconds_count",
                Map.of("namespace", NAMESPACE, "service", SERVICE, "outcome", outcome));
    }

    private static PrometheusScrape scrape(int port) {
        return PrometheusScrape.parse(RestClient.create("http://localhost:" + port)
            .get()
            .uri("/actuator/prometheus")
            .retrieve()
            .body(String.class));
    }

    private static int port(ConfigurableApplicationContext application) {
        return application.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
    }

    // ---- the check

    /** What a query names that no application exposes: metrics, labels, label values. */
    private static List<String> missing(ObservabilityFiles.Query query, Map<String, List<Map<String, String>>> exposed) {
        List<String> missing = new ArrayList<>();
        PromQl.Query parsed = PromQl.parse(query.promql());
        for (PromQl.Selector selector : parsed.selectors()) {
            List<Map<String, String>> series = exposed.get(selector.metric());
            if (series == null) {
                missing.add(query.where() + ": no application exposes " + selector.metric());
                continue;
            }
            for (PromQl.Matcher matcher : selector.matchers()) {
                if (TARGET_LABELS.contains(matcher.label())) {
                    continue;
                }
                if (series.stream().noneMatch((labels) -> labels.containsKey(matcher.label()))) {
                    missing.add(query.where() + ": " + selector.metric() + " has no label " + matcher.label());
                }
                else if (matcher.operator().equals("=") && !matcher.value().contains("$")
                        && series.stream().noneMatch((labels) -> matcher.value().equals(labels.get(matcher.label())))) {
                    missing.add(query.where() + ": " + selector.metric() + " has no " + matcher.label() + "=\""
                            + matcher.value() + "\"");
                }
            }
        }
        for (PromQl.Grouping grouping : parsed.groupings()) {
            for (String label : grouping.labels()) {
                if (!TARGET_LABELS.contains(label) && !hasLabel(grouping.selectors(), label, exposed)) {
                    missing.add(query.where() + ": nothing it aggregates has the label " + label);
                }
            }
        }
        for (String label : query.labels()) {
            if (!TARGET_LABELS.contains(label) && !hasLabel(parsed.selectors(), label, exposed)) {
                missing.add(query.where() + ": no label " + label + " to list");
            }
        }
        return missing;
    }

    private static boolean hasLabel(List<PromQl.Selector> selectors, String label,
            Map<String, List<Map<String, String>>> exposed) {
        return selectors.stream()
            .flatMap((selector) -> exposed.getOrDefault(selector.metric(), List.of()).stream())
            .anyMatch((labels) -> labels.containsKey(label));
    }

    // ---- series

    private static double[] series(List<Moment> run, ToDoubleFunction<PrometheusScrape> value) {
        return run.stream().mapToDouble((moment) -> value.applyAsDouble(moment.gateway())).toArray();
    }

    /** The increase between two samples per second, as PromQL's irate: NaN at the first. */
    private static double[] perSecond(double[] seconds, double[] counts) {
        double[] rates = new double[counts.length];
        rates[0] = Double.NaN;
        for (int i = 1; i < counts.length; i++) {
            rates[i] = (counts[i] - counts[i - 1]) / (seconds[i] - seconds[i - 1]);
        }
        return rates;
    }

    private static double max(double[] values) {
        double max = Double.NEGATIVE_INFINITY;
        for (double value : values) {
            if (Double.isFinite(value)) {
                max = Math.max(max, value);
            }
        }
        return max;
    }

    /** The values a series took, each run of equal values once (NaN, no sample yet, left out). */
    private static List<Double> changes(double[] values) {
        List<Double> changes = new ArrayList<>();
        for (double value : values) {
            if (!Double.isNaN(value) && (changes.isEmpty() || changes.get(changes.size() - 1) != value)) {
                changes.add(value);
            }
        }
        return changes;
    }

    private static String csv(double[] seconds, Map<String, double[]> rates, Map<String, double[]> p99,
            Map<String, double[]> pods) {
        StringBuilder csv = new StringBuilder("seconds");
        rates.keySet().forEach((outcome) -> csv.append(",").append(outcome).append("_per_second"));
        p99.keySet().forEach((outcome) -> csv.append(",").append(outcome).append("_p99_ms"));
        pods.keySet().forEach((state) -> csv.append(",pods_").append(state));
        csv.append('\n');
        for (int i = 0; i < seconds.length; i++) {
            csv.append(String.format(Locale.ROOT, "%.2f", seconds[i]));
            for (Map<String, double[]> columns : List.of(rates, p99, pods)) {
                for (double[] column : columns.values()) {
                    csv.append(',').append(Double.isNaN(column[i]) ? "" : String.format(Locale.ROOT, "%.3f", column[i]));
                }
            }
            csv.append('\n');
        }
        return csv.toString();
    }

}
