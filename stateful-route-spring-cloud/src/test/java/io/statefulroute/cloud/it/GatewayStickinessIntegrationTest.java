package io.statefulroute.cloud.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.web.client.RestClient;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.socket.WebSocketMessage;
import org.springframework.web.reactive.socket.client.ReactorNettyWebSocketClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Real traffic end to end on loopback: two Spring Cloud Gateways with default
 * {@code stateful-route.loadbalancer.*} properties in front of three real lobby pods (routes
 * {@code lb://lobby} and {@code lb:ws://lobby}) and of two instances of a stateless
 * {@code orders} service (route {@code lb://orders}, instances from Spring Cloud's simple
 * discovery client), all on one real Redis. The scenario runs in order: steady traffic, a
 * stateless service beside the stateful one, WebSocket sessions, a drain, a killed pod, no
 * routable pod, then Redis stopped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GatewayStickinessIntegrationTest {

    private static final int USERS = 1_000;

    private static final int REQUESTS_PER_USER = 20;

    // short, so a killed pod is noticed soon, yet well above a heartbeat stalled by a busy machine
    private static final Duration POD_EXPIRY = Duration.ofSeconds(3);

    private static final String NAMESPACE = "it";

    private RedisServer redis;

    private final String keyPrefix = "gw-" + UUID.randomUUID().toString().substring(0, 8);

    private final List<ConfigurableApplicationContext> pods = new ArrayList<>();

    private final List<ScheduledFuture<?>> heartbeats = new ArrayList<>();

    /** Each pod's last heartbeat sent, to know when none can land any more. */
    private final List<AtomicReference<CompletableFuture<Void>>> lastHeartbeats = new ArrayList<>();

    /** The stateless service's two instances: plain Reactor Netty servers answering their name. */
    private final List<DisposableServer> orders = new ArrayList<>();

    private final List<ConfigurableApplicationContext> gateways = new ArrayList<>();

    private final ScheduledExecutorService heartbeatScheduler = Executors.newScheduledThreadPool(1);

    private final HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();

    /** Pod of each user of the first phase, as they saw it. */
    private final Map<String, String> podOfUser = new ConcurrentHashMap<>();

    @BeforeAll
    void start() {
        this.redis = RedisServers.standalone().start();
        for (int pod = 0; pod < 3; pod++) {
            ConfigurableApplicationContext context = run(LobbyPodApplication.class, Map.of(
                    "stateful-route.server.service", "lobby",
                    "stateful-route.server.pod-index", pod,
                    "stateful-route.server.advertised-address.host", "127.0.0.1",
                    "stateful-route.server.drain-period", "100ms",
                    // the test beats for the pods, so that it can kill one without a drain
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
        for (int instance = 0; instance < 2; instance++) {
            String name = "orders-" + instance;
            this.orders.add(HttpServer.create().host("127.0.0.1").port(0)
                .route((routes) -> routes.get("/orders/**", (request, response) -> response.sendString(Mono.just(name))))
                .bindNow());
        }
        for (int gateway = 0; gateway < 2; gateway++) {
            this.gateways.add(run(LobbyGatewayApplication.class, Map.ofEntries(
                    Map.entry("stateful-route.loadbalancer.uid.source", "path-segment"),
                    Map.entry("stateful-route.loadbalancer.uid.path-segment", 1),
                    Map.entry("spring.cloud.gateway.server.webflux.routes[0].id", "lobby-ws"),
                    Map.entry("spring.cloud.gateway.server.webflux.routes[0].uri", "lb:ws://lobby"),
                    Map.entry("spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/lobby/*/ws"),
                    Map.entry("spring.cloud.gateway.server.webflux.routes[1].id", "lobby"),
                    Map.entry("spring.cloud.gateway.server.webflux.routes[1].uri", "lb://lobby"),
                    Map.entry("spring.cloud.gateway.server.webflux.routes[1].predicates[0]", "Path=/lobby/**"),
                    Map.entry("spring.cloud.gateway.server.webflux.routes[2].id", "orders"),
                    Map.entry("spring.cloud.gateway.server.webflux.routes[2].uri", "lb://orders"),
                    Map.entry("spring.cloud.gateway.server.webflux.routes[2].predicates[0]", "Path=/orders/**"),
                    Map.entry("spring.cloud.discovery.client.simple.instances.orders[0].uri",
                            "http://127.0.0.1:" + this.orders.get(0).port()),
                    Map.entry("spring.cloud.discovery.client.simple.instances.orders[1].uri",
                            "http://127.0.0.1:" + this.orders.get(1).port()))));
        }
    }

    private ConfigurableApplicationContext run(Class<?> application, Map<String, Object> properties) {
        Map<String, Object> all = new HashMap<>(properties);
        all.put("server.port", 0);
        all.put("spring.data.redis.host", this.redis.host());
        all.put("spring.data.redis.port", this.redis.port());
        all.put("stateful-route.key-prefix", this.keyPrefix);
        all.put("stateful-route.namespace", NAMESPACE);
        all.put("stateful-route.state.pod-expiry", POD_EXPIRY.toMillis() + "ms");
        all.put("stateful-route.state.refresh-period", "100ms");
        all.put("stateful-route.server.heartbeat-period", "100ms");
        all.put("spring.main.banner-mode", "off");
        all.put("logging.level.root", "WARN");
        return new SpringApplicationBuilder(application).web(WebApplicationType.REACTIVE).properties(all).run();
    }

    @AfterAll
    void stop() {
        this.heartbeatScheduler.shutdownNow();
        this.gateways.forEach(ConfigurableApplicationContext::close);
        this.pods.forEach(ConfigurableApplicationContext::close);
        this.orders.forEach(DisposableServer::disposeNow);
        this.redis.close();
    }

    @Test
    @Order(1)
    void everyRequestOfAUserThroughEitherGatewayReachesTheSamePod() {
        List<String> users = IntStream.range(0, USERS).mapToObj((i) -> "user-" + i).toList();
        Map<String, Set<String>> podsSeen = new ConcurrentHashMap<>();
        List<String> failures = send(users, REQUESTS_PER_USER, podsSeen);

        assertThat(failures).isEmpty();
        assertThat(podsSeen).hasSize(USERS);
        List<String> onTwoPods = podsSeen.entrySet().stream().filter((seen) -> seen.getValue().size() != 1)
            .map(Map.Entry::getKey).toList();
        assertThat(onTwoPods).as("users seen on more than one pod").isEmpty();
        podsSeen.forEach((uid, seen) -> this.podOfUser.put(uid, seen.iterator().next()));
        assertThat(Set.copyOf(this.podOfUser.values())).containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
    }

    @Test
    @Order(2)
    void loadBalancedClientsUseTheSameBalancer() {
        ConfigurableApplicationContext service = this.gateways.get(0);
        WebClient webClient = service.getBean(WebClient.Builder.class).build();
        RestClient restClient = service.getBean(RestClient.Builder.class).build();
        for (int i = 0; i < 20; i++) {
            String uid = "user-" + i;
            assertThat(webClient.get().uri("http://lobby/lobby/{uid}/hello", uid).retrieve().bodyToMono(String.class)
                .block(Duration.ofSeconds(5))).isEqualTo(this.podOfUser.get(uid));
            assertThat(restClient.get().uri("http://lobby/lobby/{uid}/hello", uid).retrieve().body(String.class))
                .isEqualTo(this.podOfUser.get(uid));
        }
    }

    /**
     * With default properties, a service none of whose pods heartbeats keeps Spring Cloud's own
     * balancer: round robin over its discovered instances, through the gateway route as through
     * a {@code @LoadBalanced} client, uid or not, and nothing of it reaches Redis' links.
     */
    @Test
    @Order(3)
    void aStatelessServiceBehindTheSameGatewaysIsBalancedAsSpringCloudDoes() throws Exception {
        for (ConfigurableApplicationContext gateway : this.gateways) {
            List<String> answers = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> response = this.http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port(gateway) + "/orders/alice/cart")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).isEqualTo(200);
                answers.add(response.body());
            }
            assertRoundRobin(answers);
        }
        WebClient webClient = this.gateways.get(0).getBean(WebClient.Builder.class).build();
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            answers.add(webClient.get().uri("http://orders/orders/alice/cart").retrieve().bodyToMono(String.class)
                .block(Duration.ofSeconds(5)));
        }
        assertRoundRobin(answers);

        for (ConfigurableApplicationContext gateway : this.gateways) {
            assertThat(gateway.getBean(ServiceStateCache.class).isTracked(NAMESPACE, "orders")).isFalse();
            assertThat(gateway.getBean(ServiceStateCache.class).isTracked(NAMESPACE, "lobby")).isTrue();
        }
        assertThat(executor().getLinkService(NAMESPACE, "alice")).doesNotContainKey("orders");
        assertThat(executor().getLinkService(NAMESPACE, "user-0")).containsOnlyKeys("lobby");
    }

    /** Round robin over two instances: both answer, in turns. */
    private static void assertRoundRobin(List<String> answers) {
        assertThat(answers).containsOnly("orders-0", "orders-1");
        for (int i = 1; i < answers.size(); i++) {
            assertThat(answers.get(i)).as("answer %d of %s", i, answers).isNotEqualTo(answers.get(i - 1));
        }
    }

    /** A uid whose percent-encoding is not UTF-8 is a 400 problem, not a proxy to some user's pod, nor a 500. */
    @Test
    @Order(4)
    void aMalformedUidIsA400Problem() throws Exception {
        HttpResponse<String> response = this.http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port(randomGateway()) + "/lobby/b%C3/hello")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.body()).contains("\"title\":\"Invalid routing key\"")
            .contains("path segment 1 is not valid percent-encoded UTF-8");
    }

    @Test
    @Order(5)
    void webSocketSessionsReachTheirUsersPod() {
        ReactorNettyWebSocketClient client = new ReactorNettyWebSocketClient();
        List<String> users = IntStream.range(0, 60).mapToObj((i) -> "user-" + i).toList();
        Map<String, List<String>> replies = new ConcurrentHashMap<>();
        Flux.fromIterable(users).flatMap((uid) -> {
            URI uri = URI.create("ws://127.0.0.1:" + port(randomGateway()) + "/lobby/" + uid + "/ws");
            List<String> received = new ArrayList<>();
            replies.put(uid, received);
            return client.execute(uri, (session) -> session
                .send(Flux.range(0, 5).map((n) -> session.textMessage("m" + n)))
                .thenMany(session.receive().map(WebSocketMessage::getPayloadAsText).take(5).doOnNext(received::add))
                .then());
        }, 16).blockLast(Duration.ofSeconds(30));

        replies.forEach((uid, received) -> assertThat(received).as(uid).hasSize(5)
            .allSatisfy((reply) -> assertThat(reply).startsWith(this.podOfUser.get(uid) + ":m")));
    }

    @Test
    @Order(6)
    void aDrainingPodKeepsItsUsersAndGetsNoNewOnes() {
        server(1).setRoutingState(RoutingState.DENY_NEW_CALL);
        awaitGateways((view) -> !view.isRoutable(1) && view.isAvailable(1));

        List<String> usersOfPod1 = usersOf("pod-1");
        Map<String, Set<String>> seen = new ConcurrentHashMap<>();
        assertThat(send(usersOfPod1, 3, seen)).isEmpty();
        assertThat(seen.values()).allSatisfy((pods) -> assertThat(pods).containsExactly("pod-1"));

        List<String> newUsers = IntStream.range(0, 300).mapToObj((i) -> "drain-new-" + i).toList();
        Map<String, Set<String>> newSeen = new ConcurrentHashMap<>();
        assertThat(send(newUsers, 2, newSeen)).isEmpty();
        assertThat(newSeen.values().stream().flatMap(Set::stream).collect(Collectors.toSet()))
            .containsExactlyInAnyOrder("pod-0", "pod-2");
    }

    /**
     * A crash: no drain, no last heartbeat, the web server gone. From the crash until the pod's
     * lease has certainly lapsed (its last heartbeat + pod expiry + relink grace, on Redis'
     * clock) its users get {@code 503 Pod unavailable} with {@code Retry-After}, never a proxy
     * error: first while the gateways still count the pod alive (its address refuses the
     * connection), then while it is dead but may still hold its users. The first {@code 200}
     * comes from a live pod, after the lapse and soon after it.
     */
    @Test
    @Order(7)
    void usersOfAKilledPodGet503UntilItsLeaseHasLapsedThenReachALivePod() {
        List<String> usersOfPod2 = usersOf("pod-2");
        crash(2);
        PodState last = executor().getServiceState(NAMESPACE, "lobby").pod(2).orElseThrow();
        long expiresAt = last.updateTimeMillis() + last.leaseTerms().podExpiry().toMillis();
        long leaseEnd = last.updateTimeMillis() + last.leaseTerms().silenceBeforeRelink().toMillis();

        List<Probe> probes = new CopyOnWriteArrayList<>();
        AtomicInteger next = new AtomicInteger();
        await().atMost(POD_EXPIRY.multipliedBy(5)).pollInterval(Duration.ofMillis(10)).until(() -> {
            String uid = usersOfPod2.get(next.getAndIncrement() % usersOfPod2.size());
            long sentAt = redisNowMillis();
            HttpResponse<String> response = get(randomGateway(), uid);
            probes.add(new Probe(sentAt, redisNowMillis(), response.statusCode(), response.body(),
                    response.headers().firstValue("Retry-After").orElse(null)));
            return response.statusCode() == 200;
        });

        Probe firstOk = probes.get(probes.size() - 1);
        List<Probe> waiting = probes.subList(0, probes.size() - 1);
        assertThat(waiting).allSatisfy((probe) -> {
            assertThat(probe.status()).as(probe.toString()).isEqualTo(503);
            assertThat(probe.body()).contains("\"title\":\"Pod unavailable\"");
            assertThat(probe.retryAfter()).isEqualTo("1");
        });
        // while the gateways still count the pod alive: the connection to it is refused
        assertThat(waiting).filteredOn((probe) -> probe.answeredAt() < expiresAt).isNotEmpty()
            .allSatisfy((probe) -> assertThat(probe.body()).contains("does not accept connections"));
        // dead, but its lease may not have lapsed
        assertThat(waiting).filteredOn((probe) -> probe.sentAt() >= expiresAt).isNotEmpty()
            .allSatisfy((probe) -> assertThat(probe.body()).contains("is not available"));
        assertThat(firstOk.body()).isEqualTo("pod-0");
        long lateBy = firstOk.answeredAt() - leaseEnd;
        System.out.printf("Killed pod: %d answers 503 (%d before its expiry), first 200 %d ms after its lease "
                + "ended (%d ms after the heartbeat + %s + %s)%n", waiting.size(),
                waiting.stream().filter((probe) -> probe.answeredAt() < expiresAt).count(), lateBy,
                firstOk.answeredAt() - last.updateTimeMillis(), last.leaseTerms().podExpiry(),
                last.leaseTerms().relinkGrace());
        // not before the lease ended, and soon after: the gateways' views are refreshed every
        // 100 ms and a probe takes a few; a second leaves room for a busy machine
        assertThat(lateBy).as("first 200 after the lease ended, in ms").isBetween(0L, 1_000L);

        awaitGateways((view) -> view.mayRelinkFrom(2));
        Map<String, Set<String>> seen = new ConcurrentHashMap<>();
        assertThat(send(usersOfPod2, 3, seen)).isEmpty();
        // pod 1 drains, so pod 0 is the only one taking them
        assertThat(seen).hasSize(usersOfPod2.size());
        assertThat(seen.values()).allSatisfy((pods) -> assertThat(pods).containsExactly("pod-0"));
        seen.forEach((uid, pods) -> this.podOfUser.put(uid, pods.iterator().next()));
    }

    /** A request for a user of a killed pod: when it was sent and answered, on Redis' clock, and the answer. */
    private record Probe(long sentAt, long answeredAt, int status, String body, String retryAfter) {
    }

    /**
     * Kills a pod as a crash would: its heartbeats stop (the last one sent has landed when
     * this returns, so the pod's entry holds its last heartbeat) and its web server is gone,
     * without a drain.
     */
    private void crash(int pod) {
        this.heartbeats.get(pod).cancel(false);
        // the scheduler has one thread: once this no-op ran, no heartbeat of the pod is being sent
        CompletableFuture.runAsync(() -> { }, this.heartbeatScheduler).join();
        this.lastHeartbeats.get(pod).get().exceptionally((ex) -> null).join();
        ((WebServerApplicationContext) this.pods.get(pod)).getWebServer().stop();
    }

    /** Redis' clock, read with TIME. */
    private long redisNowMillis() {
        try (RedisConnection connection = this.gateways.get(0).getBean(RedisConnectionFactory.class).getConnection()) {
            return connection.serverCommands().time(TimeUnit.MILLISECONDS);
        }
    }

    private StatefulExecutor executor() {
        return this.gateways.get(0).getBean(StatefulExecutor.class);
    }

    @Test
    @Order(8)
    void noRoutablePodIsA503ProblemWhileLinkedUsersKeepFlowing() throws Exception {
        server(0).setRoutingState(RoutingState.DENY_NEW_CALL);
        awaitGateways((view) -> view.routablePods().isEmpty());

        HttpResponse<String> refused = get(randomGateway(), "newcomer-" + UUID.randomUUID());
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Content-Type")).hasValueSatisfying(
                (type) -> assertThat(type).startsWith("application/problem+json"));
        assertThat(refused.body()).contains("\"title\":\"No routable pod\"").contains("\"status\":503");

        Map<String, Set<String>> seen = new ConcurrentHashMap<>();
        assertThat(send(usersOf("pod-0").subList(0, 50), 2, seen)).isEmpty();
        server(0).setRoutingState(RoutingState.READY);
        awaitGateways((view) -> view.isRoutable(0));
    }

    @Test
    @Order(9)
    void withRedisStoppedUsersAlreadyRoutedKeepBeingProxied() throws Exception {
        List<String> routed = usersOf("pod-0").subList(0, 200);
        // every gateway has these users cached now
        for (ConfigurableApplicationContext gateway : this.gateways) {
            for (String uid : routed) {
                assertThat(get(gateway, uid).body()).isEqualTo("pod-0");
            }
        }
        this.redis.stop();
        await().atMost(Duration.ofSeconds(10)).until(() -> this.gateways.stream()
            .allMatch((gateway) -> gateway.getBean(ServiceStateCache.class).isRedisUnavailable()));

        Map<String, Set<String>> seen = new ConcurrentHashMap<>();
        assertThat(send(routed, 3, seen)).isEmpty();
        assertThat(seen.values()).allSatisfy((pods) -> assertThat(pods).containsExactly("pod-0"));

        HttpResponse<String> newcomer = get(randomGateway(), "newcomer-" + UUID.randomUUID());
        assertThat(newcomer.statusCode()).isEqualTo(503);
        assertThat(newcomer.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(newcomer.body()).contains("\"title\":\"Routing table unavailable\"");
    }

    // ---- helpers

    /** Sends each user's requests through random gateways; returns what failed. */
    private List<String> send(List<String> users, int requestsPerUser, Map<String, Set<String>> podsSeen) {
        List<String> failures = new ArrayList<>();
        Semaphore inFlight = new Semaphore(48);
        List<CompletableFuture<Void>> sent = new ArrayList<>(users.size() * requestsPerUser);
        AtomicInteger done = new AtomicInteger();
        for (int round = 0; round < requestsPerUser; round++) {
            for (String uid : users) {
                inFlight.acquireUninterruptibly();
                sent.add(this.http.sendAsync(request(randomGateway(), uid), HttpResponse.BodyHandlers.ofString())
                    .handle((response, ex) -> {
                        inFlight.release();
                        done.incrementAndGet();
                        if (ex != null || response.statusCode() != 200) {
                            synchronized (failures) {
                                failures.add(uid + ": " + ((ex != null) ? ex : response.statusCode() + " " + response.body()));
                            }
                        }
                        else {
                            podsSeen.computeIfAbsent(uid, (u) -> ConcurrentHashMap.newKeySet()).add(response.body());
                        }
                        return null;
                    }));
            }
        }
        CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).join();
        assertThat(done).hasValue(users.size() * requestsPerUser);
        return failures;
    }

    private HttpResponse<String> get(ConfigurableApplicationContext gateway, String uid) throws Exception {
        return this.http.send(request(gateway, uid), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest request(ConfigurableApplicationContext gateway, String uid) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(gateway) + "/lobby/" + uid + "/hello"))
            .timeout(Duration.ofSeconds(10))
            .build();
    }

    private ConfigurableApplicationContext randomGateway() {
        return this.gateways.get(ThreadLocalRandom.current().nextInt(this.gateways.size()));
    }

    private static int port(ConfigurableApplicationContext context) {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    private StatefulRouteForServerDriver server(int pod) {
        return this.pods.get(pod).getBean(StatefulRouteForServerDriver.class);
    }

    private List<String> usersOf(String pod) {
        return this.podOfUser.entrySet().stream().filter((user) -> user.getValue().equals(pod))
            .map(Map.Entry::getKey).sorted().toList();
    }

    private void awaitGateways(java.util.function.Predicate<ServiceView> condition) {
        await().atMost(POD_EXPIRY.multipliedBy(5)).until(() -> this.gateways.stream().allMatch((gateway) -> {
            ServiceView view = gateway.getBean(ServiceStateCache.class).cachedView(NAMESPACE, "lobby");
            return view != null && condition.test(view);
        }));
    }

}
