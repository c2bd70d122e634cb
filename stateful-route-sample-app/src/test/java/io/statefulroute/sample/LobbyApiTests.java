package io.statefulroute.sample;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import io.statefulroute.core.link.RouteOutcome;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.ApplicationContext;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ResponseEntity;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The sample's HTTP API on a real Redis: routing, batch and per-user look-ups, balancing,
 * drain and hand-off, a dying pod's players being relinked, a pod refusing a player another
 * pod holds, errors, and the live page's data.
 */
class LobbyApiTests extends SampleAppTestSupport {

    @Autowired
    ApplicationContext context;

    @Autowired
    RouteLog routeLog;

    private RestClient http;

    @BeforeEach
    void client() {
        this.http = RestClient.builder()
            .baseUrl("http://localhost:" + this.port)
            .defaultStatusHandler(HttpStatusCode::isError, (request, response) -> { })
            .build();
    }

    @Test
    void routeLinksANewPlayerOnceAndThePodHoldsThePlayer() {
        Map<String, Object> first = get("/route/lobby/alice");
        int pod = (Integer) first.get("pod");
        assertThat(pod).isBetween(0, 2);
        assertThat(get("/route/lobby/alice")).containsEntry("pod", pod);
        assertThat(this.pods.find(pod).orElseThrow().holds("alice")).isTrue();

        assertThat(get("/users/alice/routes")).containsExactly(Map.entry("lobby", pod));
        assertThat(get("/route/lobby?uid=alice&uid=nobody")).containsExactly(Map.entry(String.valueOf(pod), List.of("alice")));
        assertThat(get("/users/nobody/routes")).isEmpty();
    }

    @Test
    void newPlayersAreSpreadOverEveryPod() {
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250)).until(() -> {
            addPlayers(3);
            return this.pods.all().stream().allMatch((pod) -> pod.players() >= 3);
        });
    }

    @Test
    void aDrainedPodKeepsItsPlayersAndGetsNoNewOnes() {
        this.pods.find(0).orElseThrow().join("kept");
        assertThat(post("/api/pods/0/drain").getStatusCode().value()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> podInfo(0).get("routingState").equals("DENY_NEW_CALL")
                && !(Boolean) podInfo(0).get("routable"));

        assertThat(addPlayers(20)).extracting((route) -> route.get("pod")).doesNotContain(0).hasSize(20);
        assertThat(get("/route/lobby/kept")).containsEntry("pod", 0);
    }

    @Test
    void aDeadPodsPlayersAreRelinkedToLivePods() {
        LobbyPod two = this.pods.find(2).orElseThrow();
        two.join("bob");
        assertThat(get("/route/lobby/bob")).containsEntry("pod", 2);
        long relinked = this.routeLog.counts().get(RouteOutcome.RELINKED);

        assertThat(post("/api/pods/2/kill").getStatusCode().value()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> !(Boolean) podInfo(2).get("alive"));
        // bob moves only once pod 2's lease has certainly lapsed: pod expiry plus the relink grace
        AtomicInteger moved = new AtomicInteger(-1);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
            moved.set((Integer) get("/route/lobby/bob").get("pod"));
            return moved.get() != 2;
        });
        int newPod = moved.get();

        assertThat(newPod).isIn(0, 1);
        assertThat(this.pods.find(newPod).orElseThrow().holds("bob")).isTrue();
        assertThat(this.routeLog.counts().get(RouteOutcome.RELINKED)).isGreaterThan(relinked);
        assertThat(this.routeLog.recent()).anySatisfy((decision) -> {
            assertThat(decision.uid()).isEqualTo("bob");
            assertThat(decision.outcome()).isEqualTo(RouteOutcome.RELINKED);
            assertThat(decision.pod()).isEqualTo(newPod);
        });
    }

    @Test
    void aFrozenPodLearnsWhichPlayersItLostAndDropsThem() {
        LobbyPod one = this.pods.find(1).orElseThrow();
        // The context is shared with other tests, which may have cost pod 1 players of their own.
        int lostBefore = (Integer) podInfo(1).get("lostPlayers");
        one.join("carl");
        assertThat(post("/api/pods/1/freeze").getStatusCode().value()).isEqualTo(200);
        AtomicInteger moved = new AtomicInteger(-1);
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
            moved.set((Integer) get("/route/lobby/carl").get("pod"));
            return moved.get() != 1;
        });
        assertThat(podInfo(1)).containsEntry("leaseLive", false).containsEntry("frozen", true);

        assertThat(post("/api/pods/1/thaw").getStatusCode().value()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10))
            .until(() -> !one.holds("carl") && (Integer) podInfo(1).get("lostPlayers") > lostBefore);
        assertThat(this.pods.find(moved.get()).orElseThrow().holds("carl")).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) podInfo(1).get("leaseLive"));
    }

    /** A pod asks Redis before it takes a player: one held by another pod is refused, unless taken on purpose. */
    @Test
    void aPodTakesNoPlayerAnotherPodHoldsUnlessItTakesThePlayerOnPurpose() {
        LobbyPod zero = this.pods.find(0).orElseThrow();
        LobbyPod one = this.pods.find(1).orElseThrow();
        zero.join("dora");

        ResponseEntity<String> refused = this.http.post().uri("/api/pods/1/players/dora").retrieve()
            .toEntity(String.class);
        assertThat(refused.getStatusCode().value()).isEqualTo(409);
        assertThat(refused.getBody()).contains("Player dora is held by pod 0");
        assertThat(zero.holds("dora")).isTrue();
        assertThat(one.holds("dora")).isFalse();

        assertThat(post("/api/pods/1/players/dora/take").getStatusCode().value()).isEqualTo(200);
        assertThat(one.holds("dora")).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> !zero.holds("dora"));
        assertThat(get("/route/lobby/dora")).containsEntry("pod", 1);
    }

    @Test
    void aDrainedPodHandsItsPlayersOverToTheOtherPods() {
        LobbyPod one = this.pods.find(1).orElseThrow();
        one.join("erin");
        one.join("fred");
        assertThat(post("/api/pods/1/drain").getStatusCode().value()).isEqualTo(200);

        Map<String, Object> report = this.http.post().uri("/api/pods/1/handoff").retrieve()
            .body(new ParameterizedTypeReference<>() { });
        assertThat((Integer) report.get("moved")).isGreaterThanOrEqualTo(2);
        assertThat(report).containsEntry("failed", 0);
        for (String uid : List.of("erin", "fred")) {
            assertThat(one.holds(uid)).isFalse();
            int pod = (Integer) get("/route/lobby/" + uid).get("pod");
            assertThat(pod).isIn(0, 2);
            assertThat(this.pods.find(pod).orElseThrow().holds(uid)).isTrue();
        }
    }

    @Test
    void noRoutablePodIsServiceUnavailableAndABlankUidIsABadRequest() {
        for (int index = 0; index < 3; index++) {
            post("/api/pods/" + index + "/drain");
        }
        AtomicInteger newcomers = new AtomicInteger();
        await().atMost(Duration.ofSeconds(5)).until(() -> this.http.get()
            .uri("/route/lobby/late-" + newcomers.incrementAndGet())
            .retrieve()
            .toBodilessEntity()
            .getStatusCode()
            .value() == 503);

        assertThat(this.http.get().uri("/route/lobby/ ").retrieve().toBodilessEntity().getStatusCode().value())
            .isEqualTo(400);
        assertThat(post("/api/pods/7/drain").getStatusCode().value()).isEqualTo(404);
    }

    @Test
    void dashboardActuatorAndPageAreServedAndNoEmbeddedRedisRuns() {
        get("/route/lobby/carol");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            Map<String, Object> dashboard = get("/api/dashboard");
            assertThat(dashboard).containsEntry("players", 1);
            assertThat(pods(dashboard)).hasSize(3).allSatisfy((pod) -> {
                assertThat(pod).containsEntry("alive", true).containsEntry("routable", true).containsEntry("local", true);
            });
            assertThat(pods(dashboard)).extracting((pod) -> pod.get("links")).containsExactlyInAnyOrder(0, 0, 1);
        });
        assertThat(this.http.get().uri("/actuator/statefulroute").retrieve().body(String.class)).contains("\"lobby\"");
        assertThat(this.http.get().uri("/actuator/prometheus").retrieve().body(String.class))
            .contains("statefulroute_routing_decisions_seconds_count{namespace=\"demo\",outcome=\"new_link\",service=\"lobby\"} ");
        assertThat(this.http.get().uri("/").retrieve().body(String.class)).contains("stateful-route");
        assertThat(this.context.containsBean(EmbeddedRedisDefault.BEAN_NAME)).isFalse();
    }

    private Map<String, Object> podInfo(int index) {
        return pods(get("/api/dashboard")).stream().filter((pod) -> pod.get("index").equals(index)).findFirst().orElseThrow();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> pods(Map<String, Object> dashboard) {
        List<Map<String, Object>> services = (List<Map<String, Object>>) dashboard.get("services");
        return (List<Map<String, Object>>) services.stream()
            .filter((service) -> service.get("service").equals("lobby"))
            .findFirst()
            .orElseThrow()
            .get("pods");
    }

    private List<Map<String, Object>> addPlayers(int count) {
        return this.http.post().uri("/api/players?count=" + count).retrieve().body(new ParameterizedTypeReference<>() { });
    }

    private Map<String, Object> get(String path) {
        return this.http.get().uri(path).retrieve().body(new ParameterizedTypeReference<>() { });
    }

    private ResponseEntity<Void> post(String path) {
        return this.http.post().uri(path).retrieve().toBodilessEntity();
    }

}
