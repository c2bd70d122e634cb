package io.statefulroute.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;

import com.jayway.jsonpath.DocumentContext;
import com.jayway.jsonpath.JsonPath;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.rebalance.MoveConsent;
import io.statefulroute.core.rebalance.RebalanceRound;
import io.statefulroute.core.rebalance.RebalanceStats;
import io.statefulroute.core.rebalance.Rebalancer;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Rebalancing as a user of the starter gets it, on a real Redis: pods of "lobby", each a web
 * application with nothing but auto-configuration, actuator and the Prometheus registry, and
 * rounds every 200 ms. A user moved to another pod arrives there (the application's
 * {@link MoveConsent#moved} hands it over, as a gateway would send the reconnecting user), and
 * the pod that receives it takes it ({@code trySetLinkedPod}, persistent).
 *
 * <p>With consent, the users of one full pod even out over three, each owned by exactly one pod
 * and linked to it in Redis, and the meters and the endpoint count the moves; switched off
 * through the endpoint, a pod moves nobody until it is switched on again. Without a
 * {@link MoveConsent} bean, moves are proposed and nobody moves.
 */
class RebalancingIntegrationTests {

    private static final RedisServer redis = RedisServers.shared();

    private static final String SERVICE = "lobby";

    private static final double TOLERANCE = 0.1;

    private final String namespace = "rebalance-" + UUID.randomUUID().toString().substring(0, 8);

    private final Map<Integer, ConfigurableApplicationContext> pods = new ConcurrentHashMap<>();

    /** Users on their way to the pod they were moved to, one at a time. */
    private final ExecutorService arrivals = Executors.newSingleThreadExecutor();

    private final List<String> arrivalFailures = new CopyOnWriteArrayList<>();

    private final List<String> users = new ArrayList<>();

    @AfterEach
    void stopPods() {
        this.arrivals.shutdownNow();
        this.pods.values().forEach(ConfigurableApplicationContext::close);
    }

    @Test
    void withConsentTheUsersEvenOutAndSwitchedOffAPodMovesNobody() {
        MoveConsent everyone = new MoveConsent() {
            @Override
            public boolean mayMove(String uid, int targetPod) {
                return true;
            }

            @Override
            public void moved(String uid, int targetPod) {
                RebalancingIntegrationTests.this.arrivals.execute(() -> arrive(uid, targetPod));
            }
        };
        IntStream.range(0, 3).forEach((index) -> startPod(index, everyone));
        // pod 0 fills while switched off, so that the moves are counted from one full pod
        assertThat(post(0, Map.of("rebalancing", false)).read("$.rebalance.enabled", Boolean.class)).isFalse();
        take(0, 60);
        assertThat(held(3)).containsExactly(60, 0, 0);

        assertThat(post(0, Map.of("rebalancing", true)).read("$.rebalance.enabled", Boolean.class)).isTrue();
        awaitEvenedOut(3);
        long completed = IntStream.range(0, 3).mapToLong((index) -> stats(index).completed()).sum();
        // pod 0 sheds the 40 users above the mean of 20: the fewest moves, 1.2 times that at most
        assertThat(completed).isBetween(40L, 48L);
        assertThat(stats(0).accepted()).isEqualTo(stats(0).completed());
        assertThat(stats(0).failed()).isZero();
        assertThat(scrape(0).sum("statefulroute_rebalance_moves_total", Map.of("pod", "0", "result", "completed")))
            .isEqualTo(stats(0).completed());
        assertThat(scrape(0).sum("statefulroute_rebalance_rounds_total", Map.of("pod", "0"))).isPositive();
        DocumentContext shown = get(0);
        assertThat(shown.read("$.pod.rebalance.enabled", Boolean.class)).isTrue();
        assertThat(shown.read("$.pod.rebalance.consent", Boolean.class)).isTrue();
        assertThat(shown.read("$.pod.rebalance.options.intervalMillis", Long.class)).isEqualTo(200);
        assertThat(shown.read("$.pod.rebalance.stats.completed", Long.class)).isEqualTo(stats(0).completed());
        assertThat(shown.read("$.pod.rebalance.lastRound.decision", String.class)).isEqualTo("BALANCED");

        // switched off on every pod, pod 1 takes 30 new users: 50 against a mean of 30, and nobody moves
        for (int index = 0; index < 3; index++) {
            assertThat(post(index, Map.of("rebalancing", false)).read("$.rebalance.enabled", Boolean.class)).isFalse();
            assertThat(scrape(index).max("statefulroute_rebalance_enabled", Map.of("pod", Integer.toString(index))))
                .isZero();
        }
        take(1, 30);
        int[] held = held(3);
        long[] moves = IntStream.range(0, 3).mapToLong((index) -> stats(index).completed()).toArray();
        long rounds = IntStream.range(0, 3).mapToLong((index) -> stats(index).rounds()).sum();
        // five round intervals: a round that ran would have moved pod 1's first users within one
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> Arrays.equals(held(3), held)
                && IntStream.range(0, 3).mapToLong((index) -> stats(index).rounds()).sum() == rounds);
        assertThat(rebalancer(1).runRound().decision()).isEqualTo(RebalanceRound.Decision.DISABLED);
        assertThat(IntStream.range(0, 3).mapToLong((index) -> stats(index).completed()).toArray()).isEqualTo(moves);

        // on again, pod 1 sheds its excess: it was the switch that held the users
        assertThat(post(1, Map.of("rebalancing", true)).read("$.rebalance.enabled", Boolean.class)).isTrue();
        awaitEvenedOut(3);
        assertThat(stats(1).completed() - moves[1]).isGreaterThanOrEqualTo(20);
        assertThat(this.arrivalFailures).isEmpty();
    }

    @Test
    void withoutAMoveConsentBeanMovesAreProposedAndNobodyMoves() {
        startPod(0, null);
        startPod(1, null);
        take(0, 40);
        Rebalancer full = rebalancer(0);
        long roundsBefore = full.stats().rounds();
        await().atMost(Duration.ofSeconds(10)).until(() -> full.stats().rounds() >= roundsBefore + 3
                && full.lastRound() != null && full.lastRound().decision() == RebalanceRound.Decision.PROPOSED);

        assertThat(full.hasConsent()).isFalse();
        assertThat(held(2)).containsExactly(40, 0);
        assertThat(context(0).getBean(StatefulExecutor.class).batchGetLinkedPod(this.namespace, this.users, SERVICE))
            .containsOnlyKeys(0);
        RebalanceStats stats = full.stats();
        assertThat(stats.proposed()).isPositive();
        assertThat(stats.accepted() + stats.refused() + stats.completed() + stats.failed()).isZero();
        PrometheusScrape scrape = scrape(0);
        assertThat(scrape.sum("statefulroute_rebalance_moves_total", Map.of("pod", "0", "result", "proposed")))
            .isPositive();
        assertThat(scrape.sum("statefulroute_rebalance_moves_total", Map.of("pod", "0", "result", "completed")))
            .isZero();
        DocumentContext shown = get(0);
        assertThat(shown.read("$.pod.rebalance.consent", Boolean.class)).isFalse();
        assertThat(shown.read("$.pod.rebalance.lastRound.decision", String.class)).isEqualTo("PROPOSED");
        assertThat(shown.read("$.pod.rebalance.lastRound.mean", Double.class)).isEqualTo(20.0);
        assertThat(shown.read("$.pod.rebalance.lastRound.proposedByTarget['1']", Integer.class)).isPositive();
        assertThat(shown.read("$.pod.rebalance.lastRound.moved", Integer.class)).isZero();
    }

    // ---- the pods

    private void startPod(int index, @Nullable MoveConsent consent) {
        SpringApplicationBuilder application = new SpringApplicationBuilder(TestApplication.class)
            .web(WebApplicationType.SERVLET)
            .properties("server.port=0", "spring.data.redis.host=" + redis.host(),
                    "spring.data.redis.port=" + redis.port(), "stateful-route.key-prefix=sr-" + this.namespace,
                    "stateful-route.namespace=" + this.namespace, "stateful-route.server.service=" + SERVICE,
                    "stateful-route.server.pod-index=" + index,
                    // heartbeats publish the user counts rounds compare: 100 ms, within the lease's terms
                    "stateful-route.server.heartbeat-period=100ms", "stateful-route.state.pod-expiry=1s",
                    "stateful-route.command-timeout=500ms", "stateful-route.state.refresh-period=100ms",
                    "stateful-route.state.relink-grace=200ms", "stateful-route.server.drain-period=0s",
                    "stateful-route.server.rebalance.interval=200ms", "stateful-route.server.rebalance.max-share=0.5",
                    "stateful-route.server.rebalance.max-moves-per-second=100",
                    "management.endpoints.web.exposure.include=statefulroute,prometheus");
        if (consent != null) {
            application.initializers((context) -> ((GenericApplicationContext) context).registerBean(MoveConsent.class,
                    () -> consent));
        }
        this.pods.put(index, application.run());
    }

    /** The pod takes new users, persistently, and waits until it owns them. */
    private void take(int index, int count) {
        StatefulRouteForServerDriver pod = server(index);
        List<String> taken = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String uid = "player-" + this.users.size();
            pod.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
            this.users.add(uid);
            taken.add(uid);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> taken.stream().allMatch((uid) -> pod.owns(uid)
                || IntStream.range(0, this.pods.size()).anyMatch((other) -> other != index && server(other).owns(uid))));
    }

    /** A moved user reaches its new pod, which takes it. */
    private void arrive(String uid, int index) {
        try {
            if (!server(index).trySetLinkedPod(uid, RouteArguments.PERSIST_FOREVER).success()) {
                this.arrivalFailures.add(uid + " refused at pod " + index);
            }
        }
        catch (StatefulRouteException ex) {
            this.arrivalFailures.add(uid + " at pod " + index + ": " + ex);
        }
    }

    /**
     * Waits until every user is held by a pod and the most loaded holds at most the tolerance
     * above the mean, then until every pod that rebalances ran two more rounds and the last found
     * nothing to move, so that the moves are counted to the end; then every user is owned by
     * exactly one pod, the one Redis links it to.
     */
    private void awaitEvenedOut(int podCount) {
        int ceiling = (int) ((1 + TOLERANCE) * this.users.size() / podCount);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            int[] held = held(podCount);
            return Arrays.stream(held).sum() == this.users.size() && Arrays.stream(held).max().orElseThrow() <= ceiling;
        });
        long[] rounds = IntStream.range(0, podCount).mapToLong((index) -> stats(index).rounds()).toArray();
        await().atMost(Duration.ofSeconds(20)).until(() -> IntStream.range(0, podCount).allMatch((index) -> {
            Rebalancer rebalancer = rebalancer(index);
            RebalanceRound last = rebalancer.lastRound();
            return !rebalancer.isEnabled() || (rebalancer.stats().rounds() >= rounds[index] + 2 && last != null
                    && last.decision() == RebalanceRound.Decision.BALANCED);
        }));
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            int[] held = held(podCount);
            assertThat(Arrays.stream(held).sum()).isEqualTo(this.users.size());
            assertThat(Arrays.stream(held).max().orElseThrow()).as("most loaded of %s", Arrays.toString(held))
                .isLessThanOrEqualTo(ceiling);
            Map<String, Integer> links = new HashMap<>();
            context(0).getBean(StatefulExecutor.class)
                .batchGetLinkedPod(this.namespace, this.users, SERVICE)
                .forEach((pod, uids) -> uids.forEach((uid) -> links.put(uid, pod)));
            for (String uid : this.users) {
                List<Integer> owners = IntStream.range(0, podCount)
                    .filter((index) -> server(index).owns(uid))
                    .boxed()
                    .toList();
                assertThat(owners).as("pods owning %s", uid).containsExactly(links.get(uid));
            }
        });
    }

    private int[] held(int podCount) {
        return IntStream.range(0, podCount).map((index) -> server(index).heldUsers().size()).toArray();
    }

    private ConfigurableApplicationContext context(int index) {
        return this.pods.get(index);
    }

    private StatefulRouteForServerDriver server(int index) {
        return context(index).getBean(StatefulRouteForServerDriver.class);
    }

    private Rebalancer rebalancer(int index) {
        return context(index).getBean(Rebalancer.class);
    }

    private RebalanceStats stats(int index) {
        return rebalancer(index).stats();
    }

    // ---- actuator

    private RestClient rest(int index) {
        int port = context(index).getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        return RestClient.create("http://localhost:" + port);
    }

    private PrometheusScrape scrape(int index) {
        return PrometheusScrape.parse(rest(index).get().uri("/actuator/prometheus").retrieve().body(String.class));
    }

    private DocumentContext get(int index) {
        return JsonPath.parse(rest(index).get().uri("/actuator/statefulroute").retrieve().body(String.class));
    }

    private DocumentContext post(int index, Map<String, Object> body) {
        return JsonPath.parse(rest(index).post()
            .uri("/actuator/statefulroute")
            .contentType(MediaType.APPLICATION_JSON)
            .body(body)
            .retrieve()
            .body(String.class));
    }

}
