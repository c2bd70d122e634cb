package io.statefulroute.cloud.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.statefulroute.cloud.it.ChatPodApplication.Arrival;
import io.statefulroute.cloud.it.ChatPodApplication.ChatLog;
import io.statefulroute.cloud.websocket.FollowedSessions;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.LinkChangeListener;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.RedisConnectionFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * WebSocket sessions follow their user's link, end to end on loopback: two Spring Cloud
 * Gateways ({@code lb:ws://lobby}, default {@code stateful-route.loadbalancer.*} properties; one
 * hears link changes on the channel, the other by client tracking) in front of three chat pods
 * (a user is taken only if no other pod holds the user; every message echoed and recorded with
 * its arrival), on one real Redis. A user with an open session through each gateway is handed
 * off, taken by another pod, left on a pod that goes silent, and on a pod that shuts down; each
 * time the session to the old pod is closed with 1012 within the bound the mechanism gives,
 * the client reconnects to the user's new pod, and no message sent after the close reaches the
 * old pod.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WebSocketFollowsLinkIntegrationTest {

    private static final Duration POD_EXPIRY = Duration.ofSeconds(3);

    private static final Duration REFRESH_PERIOD = Duration.ofMillis(100);

    /** Bounds one Redis read: the read a notice costs, the refresh that sees a pod dead. */
    private static final Duration COMMAND_TIMEOUT = Duration.ofMillis(500);

    private static final String NAMESPACE = "ws";

    private static final int SERVICE_RESTART = 1012;

    /** Users moved one after the other, per gateway, in each case: enough for a median. */
    private static final int USERS_PER_CASE = 15;

    private RedisServer redis;

    private final String keyPrefix = "ws-" + UUID.randomUUID().toString().substring(0, 8);

    private final List<ConfigurableApplicationContext> pods = new ArrayList<>();

    private final List<ScheduledFuture<?>> heartbeats = new ArrayList<>();

    private final List<AtomicReference<CompletableFuture<Void>>> lastHeartbeats = new ArrayList<>();

    private final List<ConfigurableApplicationContext> gateways = new ArrayList<>();

    /** When each gateway heard of each user's latest link change, by a subscription of the test's own. */
    private final List<NoticeClock> noticeClocks = new ArrayList<>();

    private final List<AutoCloseable> noticeSubscriptions = new ArrayList<>();

    private final ScheduledExecutorService heartbeatScheduler = Executors.newScheduledThreadPool(1);

    private final HttpClient http = HttpClient.newHttpClient();

    private final List<String> measurements = new ArrayList<>();

    private final List<Long> noticeLatencies = new ArrayList<>();

    @BeforeAll
    void start() {
        this.redis = RedisServers.standalone().start();
        for (int pod = 0; pod < 3; pod++) {
            ConfigurableApplicationContext context = run(ChatPodApplication.class, Map.of(
                    "stateful-route.server.service", "lobby",
                    "stateful-route.server.pod-index", pod,
                    "stateful-route.server.advertised-address.host", "127.0.0.1",
                    "stateful-route.server.drain-period", "100ms",
                    // the test beats for the pods, so that it can silence one
                    "stateful-route.scheduling.enabled", false,
                    "stateful-route.loadbalancer.enabled", false));
            StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
            this.pods.add(context);
            AtomicReference<CompletableFuture<Void>> lastHeartbeat = new AtomicReference<>(
                    CompletableFuture.completedFuture(null));
            this.lastHeartbeats.add(lastHeartbeat);
            this.heartbeats.add(this.heartbeatScheduler.scheduleAtFixedRate(
                    () -> lastHeartbeat.set(server.heartbeatAsync()), 100, 100, TimeUnit.MILLISECONDS));
        }
        for (String notices : List.of("channel", "tracking")) {
            ConfigurableApplicationContext gateway = run(LobbyGatewayApplication.class, Map.of(
                    "stateful-route.link.notices", notices,
                    "stateful-route.loadbalancer.uid.source", "path-segment",
                    "stateful-route.loadbalancer.uid.path-segment", 1,
                    "spring.cloud.gateway.server.webflux.routes[0].id", "lobby-ws",
                    "spring.cloud.gateway.server.webflux.routes[0].uri", "lb:ws://lobby",
                    "spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/lobby/*/ws"));
            this.gateways.add(gateway);
            NoticeClock clock = new NoticeClock();
            this.noticeClocks.add(clock);
            this.noticeSubscriptions.add(gateway.getBean(StatefulExecutor.class).subscribeLinkChanges(clock));
        }
    }

    private ConfigurableApplicationContext run(Class<?> application, Map<String, Object> properties) {
        Map<String, Object> all = new HashMap<>(properties);
        all.put("server.port", 0);
        all.put("spring.data.redis.host", this.redis.host());
        all.put("spring.data.redis.port", this.redis.port());
        all.put("stateful-route.key-prefix", this.keyPrefix);
        all.put("stateful-route.namespace", NAMESPACE);
        all.put("stateful-route.command-timeout", COMMAND_TIMEOUT.toMillis() + "ms");
        all.put("stateful-route.state.pod-expiry", POD_EXPIRY.toMillis() + "ms");
        all.put("stateful-route.state.refresh-period", REFRESH_PERIOD.toMillis() + "ms");
        all.put("stateful-route.server.heartbeat-period", "100ms");
        all.put("spring.main.banner-mode", "off");
        all.put("logging.level.root", "WARN");
        return new SpringApplicationBuilder(application).web(WebApplicationType.REACTIVE).properties(all).run();
    }

    @AfterAll
    void stop() throws Exception {
        this.measurements.forEach(System.out::println);
        for (AutoCloseable subscription : this.noticeSubscriptions) {
            subscription.close();
        }
        this.heartbeatScheduler.shutdownNow();
        this.gateways.forEach(ConfigurableApplicationContext::close);
        this.pods.forEach(ConfigurableApplicationContext::close);
        this.redis.close();
    }

    /** The registry holds the open sessions only: each removes itself when it ends. */
    @Test
    @Order(1)
    void aGatewayFollowsItsOpenSessionsOnlyAndForgetsEachOneThatEnds() throws Exception {
        for (ConfigurableApplicationContext gateway : this.gateways) {
            List<Chat> chats = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Chat chat = connect(gateway, "opened-" + i);
                assertThat(chat.roundTrip("hello")).startsWith("pod-");
                chats.add(chat);
            }
            assertThat(followed(gateway).followedCount()).isEqualTo(20);
            for (Chat chat : chats) {
                chat.socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
            }
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10)).until(() -> followed(gateway).followedCount() == 0);
        }
    }

    /**
     * A hand-off (the pod moves the link to another pod, as a drain followed by hand-off does):
     * closed within the notice's latency plus one read of the link.
     */
    @Test
    @Order(2)
    void aSessionOfAUserHandedOffIsClosedAndTheClientReconnectsToTheNewPod() throws Exception {
        for (int gateway = 0; gateway < this.gateways.size(); gateway++) {
            List<Long> latencies = new ArrayList<>();
            for (int user = 0; user < USERS_PER_CASE; user++) {
                String uid = "handed-off-" + gateway + "-" + user;
                latencies.add(followsTheLink(gateway, uid, 0, 1, () -> assertThat(server(0).handOff(uid, 1)).isTrue()));
            }
            measured("hand-off", gateway, latencies);
        }
    }

    /**
     * A pod loses the user: another pod takes it ({@code setLinkedPod} over a persistent link
     * is a deliberate steal). Closed within the notice's latency plus one read.
     */
    @Test
    @Order(3)
    void aSessionOfAUserAnotherPodTookIsClosedAndTheClientReconnectsToThatPod() throws Exception {
        for (int gateway = 0; gateway < this.gateways.size(); gateway++) {
            List<Long> latencies = new ArrayList<>();
            for (int user = 0; user < USERS_PER_CASE; user++) {
                String uid = "taken-" + gateway + "-" + user;
                latencies.add(followsTheLink(gateway, uid, 1, 0,
                        () -> server(0).setLinkedPod(uid, RouteArguments.PERSIST_FOREVER)));
            }
            measured("taken by another pod", gateway, latencies);
        }
    }

    /**
     * The user's session to {@code from} is closed after {@code change} moves the user to
     * {@code to}, and the client reconnects there.
     * @return nanoseconds from the start of the change's write to the close frame at the client
     */
    private long followsTheLink(int gatewayIndex, String uid, int from, int to, Runnable change) throws Exception {
        ConfigurableApplicationContext gateway = this.gateways.get(gatewayIndex);
        server(from).setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        Chat before = connect(gateway, uid);
        assertThat(before.roundTrip("before")).isEqualTo("pod-" + from);
        NoticeClock notices = this.noticeClocks.get(gatewayIndex);
        notices.expect(uid);

        long changeStart = System.nanoTime();
        change.run();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(() -> {
            before.send();
            return before.closed.isDone();
        });
        Closed closed = before.closed.join();
        long noticedAt = notices.noticedAt(uid);

        assertThat(closed.code()).isEqualTo(SERVICE_RESTART);
        assertThat(closed.reason()).isEqualTo(FollowedSessions.MOVED_REASON);
        // closed because of the change, and within one read of the link after its notice
        assertThat(closed.atNanos()).isGreaterThan(changeStart);
        assertThat(Duration.ofNanos(closed.atNanos() - noticedAt)).isLessThanOrEqualTo(COMMAND_TIMEOUT);
        this.noticeLatencies.add(noticedAt - changeStart);

        Chat after = connect(gateway, uid);
        assertThat(after.roundTrip("after")).isEqualTo("pod-" + to);
        assertNothingSentAfterTheCloseReached(from, uid, before, closed);
        assertThat(chatLog(to).received(uid)).extracting(Arrival::text).contains("after");
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10)).until(() -> chatLog(from).openSessions(uid) == 0);
        // the old session left the registry, the new one is in it
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10)).until(() -> followed(gateway).followedCount() == 1);
        after.close();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10)).until(() -> followed(gateway).followedCount() == 0);
        return closed.atNanos() - changeStart;
    }

    private void measured(String what, int gateway, List<Long> latencies) {
        List<Long> sorted = latencies.stream().sorted().toList();
        List<Long> noticed = this.noticeLatencies.stream().sorted().toList();
        this.noticeLatencies.clear();
        this.measurements.add(String.format("%s through gateway %d (%s), %d users: close frame at the client %.1f ms "
                + "(median) / %.1f ms (max) after the write began; the notice %.1f / %.1f ms after it", what, gateway,
                notices(gateway), sorted.size(), millis(sorted.get(sorted.size() / 2)),
                millis(sorted.get(sorted.size() - 1)), millis(noticed.get(noticed.size() / 2)),
                millis(noticed.get(noticed.size() - 1))));
    }

    /**
     * A pod goes silent, as a pod whose node is lost does: its heartbeats stop while its
     * sockets stay open. Each gateway closes its sessions once its state refresh sees the pod's
     * heartbeat older than the pod expiry (at most a refresh period and one read after it),
     * before the pod's lease has lapsed (expiry plus relink grace) and its users may move; the
     * clients' reconnects get 503 until then, and reach a live pod after it.
     */
    @Test
    @Order(4)
    void sessionsToASilentPodAreClosedBeforeItsUsersMoveAndTheClientsReconnectToALivePod() throws Exception {
        List<String> uids = List.of("silenced-0", "silenced-1");
        List<Chat> before = new ArrayList<>();
        for (int gateway = 0; gateway < this.gateways.size(); gateway++) {
            server(2).setLinkedPod(uids.get(gateway), RouteArguments.PERSIST_FOREVER);
            Chat chat = connect(this.gateways.get(gateway), uids.get(gateway));
            assertThat(chat.roundTrip("before")).isEqualTo("pod-2");
            before.add(chat);
        }

        silence(2);
        PodState last = executor().getServiceState(NAMESPACE, "lobby").pod(2).orElseThrow();
        long expiresAt = last.updateTimeMillis() + last.leaseTerms().podExpiry().toMillis();
        long leaseEnd = last.updateTimeMillis() + last.leaseTerms().silenceBeforeRelink().toMillis();
        long closeBound = expiresAt + REFRESH_PERIOD.toMillis() + COMMAND_TIMEOUT.toMillis();
        assertThat(closeBound).as("the close bound comes before the lease ends").isLessThan(leaseEnd);

        for (int gateway = 0; gateway < this.gateways.size(); gateway++) {
            Chat chat = before.get(gateway);
            await().atMost(POD_EXPIRY.multipliedBy(3)).pollInterval(Duration.ofMillis(10)).until(() -> {
                chat.send();
                return chat.closed.isDone();
            });
        }
        long closedBy = redisNowMillis();
        for (int gateway = 0; gateway < this.gateways.size(); gateway++) {
            Closed closed = before.get(gateway).closed.join();
            assertThat(closed.code()).isEqualTo(SERVICE_RESTART);
            assertThat(closed.reason()).isEqualTo(FollowedSessions.POD_GONE_REASON);
        }
        assertThat(closedBy).as("both sessions closed, on Redis' clock").isLessThanOrEqualTo(closeBound);

        // both clients retry at once, as clients would
        List<List<Integer>> refusals = List.of(new ArrayList<>(), new ArrayList<>());
        List<AtomicReference<Chat>> after = List.of(new AtomicReference<>(), new AtomicReference<>());
        List<Long> reconnectedBy = new ArrayList<>(List.of(0L, 0L));
        await().atMost(POD_EXPIRY.multipliedBy(3)).pollInterval(Duration.ofMillis(50)).until(() -> {
            for (int gateway = 0; gateway < this.gateways.size(); gateway++) {
                if (after.get(gateway).get() == null) {
                    try {
                        after.get(gateway).set(connect(this.gateways.get(gateway), uids.get(gateway)));
                        reconnectedBy.set(gateway, redisNowMillis());
                    }
                    catch (WebSocketHandshakeException ex) {
                        refusals.get(gateway).add(ex.getResponse().statusCode());
                    }
                }
            }
            return after.stream().allMatch((chat) -> chat.get() != null);
        });
        for (int gateway = 0; gateway < this.gateways.size(); gateway++) {
            String uid = uids.get(gateway);
            String pod = after.get(gateway).get().roundTrip("after");
            assertThat(pod).isIn("pod-0", "pod-1");
            assertThat(refusals.get(gateway)).as("upgrades refused until the lease ended").isNotEmpty()
                .allMatch((status) -> status == 503);
            assertThat(reconnectedBy.get(gateway)).as("reconnected after the lease ended")
                .isGreaterThanOrEqualTo(leaseEnd);
            assertNothingSentAfterTheCloseReached(2, uid, before.get(gateway), before.get(gateway).closed.join());
            assertThat(chatLog(2).openSessions(uid)).isZero();
            this.measurements.add(String.format("silent pod through gateway %d (%s): closed at most %d ms after its "
                    + "expiry (%d ms before its lease ended), %d upgrades answered 503, reconnected to %s at most "
                    + "%d ms after the lease ended", gateway, notices(gateway), closedBy - expiresAt,
                    leaseEnd - closedBy, refusals.get(gateway).size(), pod, reconnectedBy.get(gateway) - leaseEnd));
            after.get(gateway).get().close();
        }
    }

    /**
     * A pod shuts down (its users may move at once): each gateway closes its sessions at the
     * first state refresh that reads {@code SHUTDOWN}, published once the pod's writes in
     * flight have settled (within a command timeout), and the clients reconnect to a live pod
     * at once.
     */
    @Test
    @Order(5)
    void sessionsToAPodThatShutsDownAreClosedAndTheClientsReconnectToALivePodAtOnce() throws Exception {
        List<Chat> before = new ArrayList<>();
        for (int gateway = 0; gateway < this.gateways.size(); gateway++) {
            String uid = "shut-out-" + gateway;
            server(1).setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
            Chat chat = connect(this.gateways.get(gateway), uid);
            assertThat(chat.roundTrip("before")).isEqualTo("pod-1");
            before.add(chat);
        }

        long shutdownStart = System.nanoTime();
        assertThat(server(1).setRoutingState(RoutingState.SHUTDOWN)).isTrue();
        for (int gateway = 0; gateway < this.gateways.size(); gateway++) {
            String uid = "shut-out-" + gateway;
            Chat chat = before.get(gateway);
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(() -> {
                chat.send();
                return chat.closed.isDone();
            });
            Closed closed = chat.closed.join();
            assertThat(closed.code()).isEqualTo(SERVICE_RESTART);
            assertThat(closed.reason()).isEqualTo(FollowedSessions.POD_GONE_REASON);
            assertThat(Duration.ofNanos(closed.atNanos() - shutdownStart))
                .isLessThanOrEqualTo(COMMAND_TIMEOUT.multipliedBy(2).plus(REFRESH_PERIOD));
            Chat after = connect(this.gateways.get(gateway), uid);
            assertThat(after.roundTrip("after")).isEqualTo("pod-0");
            assertNothingSentAfterTheCloseReached(1, uid, chat, closed);
            this.measurements.add(String.format("shut-down pod through gateway %d (%s): closed %.1f ms after "
                    + "SHUTDOWN was set", gateway, notices(gateway), millis(closed.atNanos() - shutdownStart)));
            after.close();
        }
    }

    /** Every message the old pod received was sent before the client heard the close. */
    private void assertNothingSentAfterTheCloseReached(int pod, String uid, Chat before, Closed closed) {
        List<Arrival> arrivals = chatLog(pod).received(uid);
        assertThat(arrivals).isNotEmpty().allSatisfy((arrival) -> {
            Long sentAt = before.sentAt.get(arrival.text());
            assertThat(sentAt).as("%s was sent on the session to pod %d", arrival.text(), pod).isNotNull();
            assertThat(sentAt).as("%s sent before the close", arrival.text()).isLessThan(closed.atNanos());
        });
    }

    // ---- helpers

    /**
     * Silences a pod: its heartbeats stop (the last one sent has landed when this returns) and
     * its web server keeps serving, as a pod cut off from Redis, or whose node is lost.
     */
    private void silence(int pod) {
        this.heartbeats.get(pod).cancel(false);
        CompletableFuture.runAsync(() -> { }, this.heartbeatScheduler).join();
        this.lastHeartbeats.get(pod).get().exceptionally((ex) -> null).join();
    }

    private Chat connect(ConfigurableApplicationContext gateway, String uid) throws Exception {
        Chat chat = new Chat();
        URI uri = URI.create("ws://127.0.0.1:" + port(gateway) + "/lobby/" + uid + "/ws");
        try {
            chat.socket = this.http.newWebSocketBuilder().buildAsync(uri, chat).get(10, TimeUnit.SECONDS);
        }
        catch (ExecutionException ex) {
            if (ex.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw ex;
        }
        return chat;
    }

    private FollowedSessions followed(ConfigurableApplicationContext gateway) {
        return gateway.getBean(FollowedSessions.class);
    }

    private StatefulRouteForServerDriver server(int pod) {
        return this.pods.get(pod).getBean(StatefulRouteForServerDriver.class);
    }

    private ChatLog chatLog(int pod) {
        return this.pods.get(pod).getBean(ChatLog.class);
    }

    private StatefulExecutor executor() {
        return this.gateways.get(0).getBean(StatefulExecutor.class);
    }

    private String notices(int gateway) {
        return (gateway == 0) ? "notices on the channel" : "notices by tracking";
    }

    /** Redis' clock, read with TIME. */
    private long redisNowMillis() {
        try (RedisConnection connection = this.gateways.get(0).getBean(RedisConnectionFactory.class).getConnection()) {
            return connection.serverCommands().time(TimeUnit.MILLISECONDS);
        }
    }

    private static int port(ConfigurableApplicationContext context) {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }

    /** A client's close: its code and reason, and {@link System#nanoTime()} when the frame arrived. */
    private record Closed(int code, String reason, long atNanos) {
    }

    /** One WebSocket session of a client: what it sent (with when), received, and how it closed. */
    private static final class Chat implements WebSocket.Listener {

        private static final AtomicInteger messages = new AtomicInteger();

        volatile WebSocket socket;

        final BlockingQueue<String> replies = new LinkedBlockingQueue<>();

        final Map<String, Long> sentAt = new ConcurrentHashMap<>();

        final CompletableFuture<Closed> closed = new CompletableFuture<>();

        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            this.partial.append(data);
            if (last) {
                this.replies.add(this.partial.toString());
                this.partial.setLength(0);
            }
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

        /** Sends a numbered message unless the session is closed; a send the close overtakes fails quietly. */
        void send() {
            if (this.closed.isDone()) {
                return;
            }
            String text = "m" + messages.incrementAndGet();
            this.sentAt.put(text, System.nanoTime());
            try {
                this.socket.sendText(text, true).get(5, TimeUnit.SECONDS);
            }
            catch (Exception ex) {
                // the session closed meanwhile
            }
        }

        /** Sends a message and returns the pod that echoed it. */
        String roundTrip(String text) throws Exception {
            this.sentAt.put(text, System.nanoTime());
            this.socket.sendText(text, true).get(5, TimeUnit.SECONDS);
            while (true) {
                String reply = this.replies.poll(10, TimeUnit.SECONDS);
                assertThat(reply).as("echo of " + text).isNotNull();
                if (reply.endsWith(":" + text)) {
                    return reply.substring(0, reply.length() - text.length() - 1);
                }
            }
        }

        void close() throws Exception {
            this.socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        }

    }

    /** When the latest link change notice for each expected user arrived. */
    private static final class NoticeClock implements LinkChangeListener {

        private final Map<String, Long> noticedAt = new ConcurrentHashMap<>();

        private final Map<String, Boolean> expected = new ConcurrentHashMap<>();

        void expect(String uid) {
            this.noticedAt.remove(uid);
            this.expected.put(uid, Boolean.TRUE);
        }

        long noticedAt(String uid) {
            await().atMost(Duration.ofSeconds(5)).until(() -> this.noticedAt.containsKey(uid));
            return this.noticedAt.get(uid);
        }

        @Override
        public void linkChanged(String namespace, String uid, String service) {
            if (this.expected.containsKey(uid)) {
                this.noticedAt.putIfAbsent(uid, System.nanoTime());
            }
        }

        @Override
        public void probeReceived(String token) {
        }

        @Override
        public void subscribed() {
        }

    }

}
