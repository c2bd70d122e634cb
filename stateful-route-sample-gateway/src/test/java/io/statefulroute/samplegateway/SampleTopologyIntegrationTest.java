package io.statefulroute.samplegateway;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocket.Listener;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.statefulroute.core.link.LinkChangeListener;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.sample.LobbyApplication;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The sample as a real topology, in one JVM: the sample's gateway application (Spring Cloud
 * Gateway, reactive) in front of two lobby pods (the sample application as one pod each, a
 * servlet web server), all on random loopback ports and a real Redis. A player's requests go
 * through the gateway and are answered by one pod, which holds the player. A player's chat
 * follows the player: a pod refuses a player another pod holds, closes the socket of a player
 * it loses, and the gateway page's chat (its own script, run in Node) reconnects to the
 * player's new pod after a drain and hand-off.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SampleTopologyIntegrationTest {

    private static final int PODS = 2;

    private static final int PLAYERS = 40;

    private static final int REQUESTS_PER_PLAYER = 5;

    /** How a pod closes the socket of a player it does not serve: Spring Cloud Gateway passes it on. */
    private static final int GOING_AWAY = 1001;

    /** Bounds one Redis read: the read a pod makes of its player's link on a notice. */
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(1);

    /** The gateway page's chat script, and the test's driver of it. */
    private static final Path LOBBY_CHAT_SCRIPT = Path.of("src/main/resources/static/lobby-chat.js");

    private static final Path CHAT_CLIENT_SCRIPT = Path.of("src/test/resources/chat-client.js");

    /** Spring Cloud Gateway's auto-configurations, none of which a lobby pod has. */
    private static final List<String> GATEWAY_AUTO_CONFIGURATIONS = Stream.of("GatewayClassPathWarningAutoConfiguration",
            "GatewayAutoConfiguration", "GatewayResilience4JCircuitBreakerAutoConfiguration",
            "GatewayNoLoadBalancerClientAutoConfiguration", "GatewayFunctionAutoConfiguration",
            "GatewayMetricsAutoConfiguration", "GatewayRedisAutoConfiguration", "GatewayStreamAutoConfiguration",
            "SimpleUrlHandlerMappingGlobalCorsAutoConfiguration", "GatewayReactiveLoadBalancerClientAutoConfiguration",
            "LocalResponseCacheAutoConfiguration", "GatewayTracingAutoConfiguration")
        .map((name) -> "org.springframework.cloud.gateway.config." + name)
        .toList();

    private RedisServer redis;

    private final String keyPrefix = "topology-" + UUID.randomUUID().toString().substring(0, 8);

    private final List<ConfigurableApplicationContext> pods = new ArrayList<>();

    private ConfigurableApplicationContext gateway;

    @BeforeAll
    void start() {
        this.redis = RedisServers.standalone().start();
        for (int index = 0; index < PODS; index++) {
            // On this shared test class path the gateway's application.yml is the one found, so
            // the pod's own settings (service, demo load off) are given here.
            this.pods.add(run(LobbyApplication.class, WebApplicationType.SERVLET, Map.of(
                    "stateful-route.server.enabled", true,
                    "stateful-route.server.service", "lobby",
                    "stateful-route.server.pod-index", index,
                    "stateful-route.server.advertised-address.host", "127.0.0.1",
                    "stateful-route.server.drain-period", "100ms",
                    "stateful-route.loadbalancer.enabled", false,
                    "sample.demo.enabled", false)));
        }
        this.gateway = run(LobbyGatewayApplication.class, WebApplicationType.REACTIVE, Map.of());
        // a first request makes the gateway track the lobby; then it has both pods' addresses
        // (from their heartbeats) before the players come
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().untilAsserted(() -> {
            http(this.gateway).get().uri("/lobby/{uid}", "warm-up").retrieve().toBodilessEntity();
            assertThat(http(this.gateway).get().uri("/actuator/statefulroute").retrieve().body(String.class))
                .contains("\"port\":" + port(this.pods.get(0))).contains("\"port\":" + port(this.pods.get(1)));
        });
    }

    private ConfigurableApplicationContext run(Class<?> application, WebApplicationType type,
            Map<String, Object> properties) {
        Map<String, Object> all = new HashMap<>(properties);
        all.put("server.port", 0);
        all.put("spring.data.redis.host", this.redis.host());
        all.put("spring.data.redis.port", this.redis.port());
        all.put("stateful-route.key-prefix", this.keyPrefix);
        all.put("stateful-route.state.pod-expiry", "3s");
        all.put("stateful-route.state.refresh-period", "100ms");
        all.put("stateful-route.server.heartbeat-period", "100ms");
        all.put("stateful-route.command-timeout", COMMAND_TIMEOUT.toMillis() + "ms");
        // Each real application has only its own class path; this one has both, so the gateway
        // is kept out of the pods and its refusal of Spring MVC (the pods') out of the gateway.
        all.put("spring.autoconfigure.exclude", (type == WebApplicationType.SERVLET) ? GATEWAY_AUTO_CONFIGURATIONS
                : List.of("org.springframework.cloud.gateway.config.GatewayClassPathWarningAutoConfiguration"));
        all.put("spring.main.banner-mode", "off");
        all.put("logging.level.root", "WARN");
        // as command-line arguments, which win over the application.yml on the class path
        String[] arguments = all.entrySet().stream().map((entry) -> "--" + entry.getKey() + "=" + (
                (entry.getValue() instanceof List<?> list) ? String.join(",", list.stream().map(String::valueOf).toList())
                        : entry.getValue()))
            .toArray(String[]::new);
        return new SpringApplicationBuilder(application).web(type).run(arguments);
    }

    @AfterAll
    void stop() {
        if (this.gateway != null) {
            this.gateway.close();
        }
        this.pods.forEach(ConfigurableApplicationContext::close);
        this.redis.close();
    }

    @Test
    void everyRequestOfAPlayerThroughTheGatewayReachesThePodHoldingThePlayer() {
        RestClient viaGateway = http(this.gateway);
        Map<String, Set<Integer>> podsSeen = new TreeMap<>();
        for (int request = 0; request < REQUESTS_PER_PLAYER; request++) {
            for (int player = 0; player < PLAYERS; player++) {
                String uid = "player-" + player;
                Map<String, Object> arrival = viaGateway.get().uri("/lobby/{uid}", uid).retrieve()
                    .body(new ParameterizedTypeReference<>() { });
                assertThat(arrival).containsEntry("uid", uid);
                podsSeen.computeIfAbsent(uid, (u) -> new TreeSet<>()).add((Integer) arrival.get("pod"));
            }
        }

        assertThat(podsSeen).hasSize(PLAYERS).allSatisfy((uid, seen) -> assertThat(seen).as(uid).hasSize(1));
        Set<Integer> used = new TreeSet<>();
        podsSeen.forEach((uid, seen) -> {
            int pod = seen.iterator().next();
            used.add(pod);
            assertThat(this.pods.get(pod).getBean(StatefulRouteForServerDriver.class).heldUsers()).as(uid).contains(uid);
        });
        assertThat(used).containsExactly(0, 1);
    }

    @Test
    void aPlayersChatSessionThroughTheGatewayReachesThePodOfItsRequests() throws Exception {
        RestClient viaGateway = http(this.gateway);
        for (int player = 0; player < 6; player++) {
            String uid = "chatter-" + player;
            Map<String, Object> arrival = viaGateway.get().uri("/lobby/{uid}", uid).retrieve()
                .body(new ParameterizedTypeReference<>() { });
            String pod = "pod-" + arrival.get("pod") + " ";
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            WebSocket socket = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + port(this.gateway) + "/lobby/" + uid + "/ws"), new Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                        received.add(data.toString());
                        webSocket.request(1);
                        return null;
                    }
                })
                .get(10, TimeUnit.SECONDS);
            assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo(pod + "welcome " + uid);
            socket.sendText("hello", true).get(10, TimeUnit.SECONDS);
            assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo(pod + uid + ": hello");
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void everySampleApplicationServesPrometheus() {
        http(this.gateway).get().uri("/lobby/{uid}", "scraped").retrieve().toBodilessEntity();
        assertThat(http(this.gateway).get().uri("/actuator/prometheus").retrieve().body(String.class))
            .contains("statefulroute_routing_decisions_seconds_count{namespace=\"demo\"");
        for (ConfigurableApplicationContext pod : this.pods) {
            assertThat(http(pod).get().uri("/actuator/prometheus").retrieve().body(String.class))
                .contains("statefulroute_");
        }
    }

    /** A player another pod holds is refused at the door: the pod asks Redis, and takes nobody back. */
    @Test
    void aPodRefusesTheChatOfAPlayerAnotherPodHolds() throws Exception {
        String uid = "held-elsewhere";
        int holder = arrive(uid);
        int other = 1 - holder;
        Chat chat = Chat.connect(URI.create("ws://127.0.0.1:" + port(this.pods.get(other)) + "/lobby/" + uid + "/ws"));

        Chat.Closed closed = chat.closed.get(10, TimeUnit.SECONDS);
        assertThat(closed.code()).isEqualTo(GOING_AWAY);
        assertThat(closed.reason()).isEqualTo("player is on pod " + holder);
        assertThat(server(holder).heldUsers()).contains(uid);
        assertThat(server(other).heldUsers()).doesNotContain(uid);
    }

    /**
     * Another pod takes the player (a deliberate steal): the pod that lost the player closes its
     * socket, within one read of the player's link after the notice, even with no gateway in
     * between to do it.
     */
    @Test
    void aPodThatLosesAPlayerClosesThePlayersSocket() throws Exception {
        String uid = "stolen";
        int holder = arrive(uid);
        int taker = 1 - holder;
        Chat chat = Chat.connect(URI.create("ws://127.0.0.1:" + port(this.pods.get(holder)) + "/lobby/" + uid + "/ws"));
        assertThat(chat.texts.poll(10, TimeUnit.SECONDS)).isEqualTo("pod-" + holder + " welcome " + uid);
        Map<String, Long> noticedAt = new ConcurrentHashMap<>();
        try (AutoCloseable notices = this.pods.get(holder).getBean(StatefulExecutor.class)
            .subscribeLinkChanges(new NoticeClock(uid, noticedAt))) {
            long takeStart = System.nanoTime();
            http(this.pods.get(taker)).post().uri("/api/pods/{index}/players/{uid}/take", taker, uid).retrieve()
                .toBodilessEntity();

            Chat.Closed closed = chat.closed.get(10, TimeUnit.SECONDS);
            assertThat(closed.code()).isEqualTo(GOING_AWAY);
            assertThat(closed.reason()).isEqualTo("player moved to another pod");
            await().atMost(Duration.ofSeconds(5)).until(() -> noticedAt.containsKey(uid));
            assertThat(Duration.ofNanos(closed.atNanos() - noticedAt.get(uid))).isLessThanOrEqualTo(COMMAND_TIMEOUT);
            System.out.printf("A pod that lost a player closed its socket %.1f ms after the take began "
                    + "(%.1f ms after the notice)%n", (closed.atNanos() - takeStart) / 1e6,
                    (closed.atNanos() - noticedAt.get(uid)) / 1e6);
        }
        assertThat(server(taker).heldUsers()).contains(uid);
        assertThat(server(holder).heldUsers()).doesNotContain(uid);
    }

    /**
     * What {@code run-topology.sh} shows: the gateway page's chat (its script, in Node's
     * WebSocket) is on the player's pod; that pod is drained and hands its players off from its
     * page's API; the chat is closed, reconnects, and is welcomed and relayed by the new pod.
     */
    @Test
    void theGatewayPagesChatReconnectsToThePlayersNewPodAfterADrainAndHandOff() throws Exception {
        List<String> node = nodeWithWebSocket();
        assumeTrue(node != null, "No Node 20.10+ with WebSocket on the PATH: the gateway page's chat script is not run");
        String uid = "hanna";
        int from = arrive(uid);
        int to = 1 - from;
        List<String> command = new ArrayList<>(node);
        command.addAll(List.of(CHAT_CLIENT_SCRIPT.toString(), LOBBY_CHAT_SCRIPT.toAbsolutePath().toString(),
                "ws://127.0.0.1:" + port(this.gateway) + "/lobby/" + uid + "/ws"));
        Process chat = new ProcessBuilder(command).redirectErrorStream(true).start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> chat.inputReader().lines().forEach(lines::add), "chat-client-output");
        reader.setDaemon(true);
        reader.start();
        try {
            assertThat(next(lines, "text ")).isEqualTo("text pod-" + from + " welcome " + uid);
            assertThat(next(lines, "text ")).isEqualTo("text pod-" + from + " " + uid + ": hello 1");

            RestClient page = http(this.pods.get(from));
            page.post().uri("/api/pods/{index}/drain", from).retrieve().toBodilessEntity();
            Map<String, Object> handoff = page.post().uri("/api/pods/{index}/handoff", from).retrieve()
                .body(new ParameterizedTypeReference<>() { });
            assertThat((Integer) handoff.get("moved")).isPositive();

            String close = next(lines, "status closed");
            System.out.println("The gateway page's chat after a drain and hand-off: " + close);
            assertThat(close).matches("status closed (1012 \\(user moved to another pod\\)"
                    + "|1001 \\(player moved to another pod\\)), reconnecting in \\d+ ms");
            assertThat(next(lines, "status ")).isEqualTo("status connected");
            assertThat(next(lines, "text ")).isEqualTo("text pod-" + to + " welcome " + uid);
            assertThat(next(lines, "text ")).isEqualTo("text pod-" + to + " " + uid + ": hello 2");
            assertThat(server(to).heldUsers()).contains(uid);
            assertThat(server(from).heldUsers()).doesNotContain(uid);
        }
        finally {
            chat.getOutputStream().close();
            if (!chat.waitFor(10, TimeUnit.SECONDS)) {
                chat.destroyForcibly();
            }
            reader.join(10_000);
            http(this.pods.get(from)).post().uri("/api/pods/{index}/undrain", from).retrieve().toBodilessEntity();
        }
    }

    /** The next line starting with the prefix, skipping others (e.g. other players' relayed messages). */
    private static String next(BlockingQueue<String> lines, String prefix) throws InterruptedException {
        while (true) {
            String line = lines.poll(10, TimeUnit.SECONDS);
            assertThat(line).as("a line starting with '%s'", prefix).isNotNull();
            if (line.startsWith(prefix)) {
                return line;
            }
        }
    }

    /** The command running Node with a WebSocket client (built in from 22, behind a flag from 20.10), or null. */
    private static List<String> nodeWithWebSocket() throws InterruptedException {
        for (List<String> node : List.of(List.of("node"), List.of("node", "--experimental-websocket"))) {
            List<String> probe = new ArrayList<>(node);
            probe.addAll(List.of("-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"));
            try {
                Process process = new ProcessBuilder(probe).redirectErrorStream(true).start();
                if (process.waitFor(20, TimeUnit.SECONDS) && process.exitValue() == 0) {
                    return node;
                }
                process.destroyForcibly();
            }
            catch (IOException ex) {
                return null;
            }
        }
        return null;
    }

    /** The player's first request through the gateway: the pod that answered holds the player now. */
    private int arrive(String uid) {
        Map<String, Object> arrival = http(this.gateway).get().uri("/lobby/{uid}", uid).retrieve()
            .body(new ParameterizedTypeReference<>() { });
        return (Integer) arrival.get("pod");
    }

    private StatefulRouteForServerDriver server(int pod) {
        return this.pods.get(pod).getBean(StatefulRouteForServerDriver.class);
    }

    /** A player's chat socket: the texts it received, and how it closed. */
    private static final class Chat implements Listener {

        final BlockingQueue<String> texts = new LinkedBlockingQueue<>();

        final CompletableFuture<Closed> closed = new CompletableFuture<>();

        static Chat connect(URI uri) throws Exception {
            Chat chat = new Chat();
            HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(uri, chat).get(10, TimeUnit.SECONDS);
            return chat;
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            this.texts.add(data.toString());
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            this.closed.complete(new Closed(statusCode, reason, System.nanoTime()));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            this.closed.completeExceptionally(error);
        }

        /** A close frame's code and reason, and {@link System#nanoTime()} when it arrived. */
        record Closed(int code, String reason, long atNanos) {
        }

    }

    /** Notes when the first link change notice of one user arrives. */
    private record NoticeClock(String uid, Map<String, Long> noticedAt) implements LinkChangeListener {

        @Override
        public void linkChanged(String namespace, String changed, String service) {
            if (this.uid.equals(changed)) {
                this.noticedAt.putIfAbsent(changed, System.nanoTime());
            }
        }

        @Override
        public void probeReceived(String token) {
        }

        @Override
        public void subscribed() {
        }

    }

    private static RestClient http(ConfigurableApplicationContext context) {
        return RestClient.create("http://127.0.0.1:" + port(context));
    }

    private static int port(ConfigurableApplicationContext context) {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

}
