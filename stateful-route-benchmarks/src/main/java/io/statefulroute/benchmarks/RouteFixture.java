package io.statefulroute.benchmarks;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.CoreScripts;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

/**
 * One benchmark run's world: a dedicated redis-server on a free port (never the shared 6379),
 * one Lettuce client, and the core engine wired as the starter wires it (a connection the
 * executor opens and owns, a pub/sub connection for link change notices). Baselines open
 * their own connections on the same server.
 */
final class RouteFixture implements AutoCloseable {

    static final String NAMESPACE = "prod";

    static final String SERVICE = "chat";

    /** The core's registry of the namespace's services (see RouteKeys; default prefix {@code sr}). */
    static final String SERVICES_KEY = "sr:{n:" + NAMESPACE + "}:services";

    /** Pods of {@link #SERVICE}, all READY, heartbeating once a second. */
    static final int PODS = 3;

    /** Temporary link TTL, as the core's default. */
    static final long LINK_TTL_SECONDS = 300;

    final RedisServer server;

    final RedisClient redisClient;

    /** Reads {@code INFO commandstats}; the executor has a connection of its own. */
    final StatefulRedisConnection<String, String> statsConnection;

    final RedisStatefulExecutor executor;

    final ServiceStateCache states;

    final StatefulRouteForClientDriver client;

    private final ScheduledExecutorService heartbeats;

    /** How the gateway's link change notices come, as {@code stateful-route.link.notices} says. */
    enum Notices {
        CHANNEL, TRACKING, AUTO
    }

    private RouteFixture(boolean heartbeat, Duration podExpiry, Notices notices) {
        this.server = RedisServers.standalone().start();
        this.redisClient = RedisClient.create(this.server.uri());
        this.statsConnection = this.redisClient.connect(StringCodec.UTF8);
        // A generous timeout: on a shared, overloaded machine a stall must slow a run down, not abort it.
        RedisStatefulExecutor.Builder builder = RedisStatefulExecutor.builder()
            .connector(() -> this.redisClient.connect(StringCodec.UTF8))
            .pubSubConnections(() -> this.redisClient.connectPubSub(StringCodec.UTF8))
            .commandTimeout(Duration.ofSeconds(30));
        switch (notices) {
            case TRACKING -> builder.trackingConnection(() -> this.redisClient.connect(StringCodec.UTF8));
            case AUTO -> builder.trackingWhereSupported(() -> this.redisClient.connect(StringCodec.UTF8));
            case CHANNEL -> {
                // the channel needs no connection of its own
            }
        }
        this.executor = builder.build();
        this.states = new ServiceStateCache(this.executor, podExpiry);
        RouteInfoDriver routeInfo = new RouteInfoDriver(this.states, PodSelectionStrategy.LOAD_AWARE.newSelector());
        this.client = new StatefulRouteForClientDriver(this.executor, routeInfo, ClientOptions.defaults(NAMESPACE));
        if (heartbeat) {
            publishPods().join();
            this.states.view(NAMESPACE, SERVICE);
            this.client.listenForLinkChanges();
            this.client.checkLinkChanges().join();
            // What the server pods and the starter's refresher do in production, once a second:
            // heartbeats, the state refresh and the link change probe.
            this.heartbeats = Executors.newSingleThreadScheduledExecutor((task) -> {
                Thread thread = new Thread(task, "bench-heartbeat");
                thread.setDaemon(true);
                return thread;
            });
            this.heartbeats.scheduleAtFixedRate(() -> publishPods()
                .thenCompose((done) -> this.states.refreshAsync())
                .thenCompose((done) -> this.client.checkLinkChanges()), 1, 1, TimeUnit.SECONDS);
        }
        else {
            this.heartbeats = null;
        }
    }

    /**
     * A server with the {@link #SERVICE} pods heartbeating, the state cache refreshing and a
     * link change probe sent every second, and the client following link change notices.
     */
    static RouteFixture withLivePods() {
        return withLivePods(Notices.CHANNEL);
    }

    /** {@link #withLivePods()}, with link change notices delivered as {@code notices} says. */
    static RouteFixture withLivePods(Notices notices) {
        return new RouteFixture(true, Duration.ofSeconds(5), notices);
    }

    /** A server and the engine, nothing published. */
    static RouteFixture empty(Duration podExpiry) {
        return new RouteFixture(false, podExpiry, Notices.CHANNEL);
    }

    private CompletableFuture<Void> publishPods() {
        CompletableFuture<?>[] beats = new CompletableFuture<?>[PODS];
        for (int pod = 0; pod < PODS; pod++) {
            beats[pod] = this.executor.setServiceStateAsync(NAMESPACE, SERVICE, pod, RoutingState.READY, 0.0);
        }
        return CompletableFuture.allOf(beats);
    }

    /**
     * Makes {@code users} new users through {@code computeLinkedPodAsync}, 256 in flight, so
     * the link cache holds as many one-time users as it can before measuring.
     */
    void linkOneTimeUsers(String uidPrefix, int users) {
        Semaphore window = new Semaphore(256);
        for (int i = 0; i < users; i++) {
            window.acquireUninterruptibly();
            this.client.computeLinkedPodAsync(NAMESPACE, uidPrefix + i, SERVICE)
                .whenComplete((pod, ex) -> window.release());
        }
        window.acquireUninterruptibly(256);
    }

    /** The core's key of a user's link to a service (see RouteKeys; default prefix {@code sr}). */
    static String linkKey(String uid, String service) {
        return "sr:{u:" + NAMESPACE + ":" + uid + "}:link:" + service;
    }

    /** A new connection on the same client (same event loop), for a baseline. */
    StatefulRedisConnection<String, String> newConnection() {
        return this.redisClient.connect(StringCodec.UTF8);
    }

    /** The core's script text exactly as the core sends it. */
    static String coreScript(String name) {
        return CoreScripts.source(name);
    }

    /** Calls of each command so far, from {@code INFO commandstats}. */
    Map<String, Long> commandCalls() {
        Map<String, Long> calls = new LinkedHashMap<>();
        for (String line : this.statsConnection.sync().info("commandstats").split("\r?\n")) {
            if (line.startsWith("cmdstat_")) {
                int colon = line.indexOf(':');
                int start = line.indexOf("calls=") + 6;
                int end = line.indexOf(',', start);
                calls.put(line.substring(8, colon), Long.parseLong(line.substring(start, end)));
            }
        }
        calls.put(REDIS_CPU_MICROS, redisCpuMicros());
        return calls;
    }

    /** The entry of {@link #commandCalls()} that holds the CPU time Redis used so far, in µs, not a command. */
    private static final String REDIS_CPU_MICROS = "redis cpu us";

    /**
     * CPU time the Redis server used so far ({@code INFO cpu}: user and system, its I/O included),
     * so that a run can tell the server's share of a call from the client's on a shared machine.
     */
    private long redisCpuMicros() {
        double seconds = 0;
        for (String line : this.statsConnection.sync().info("cpu").split("\r?\n")) {
            if (line.startsWith("used_cpu_sys:") || line.startsWith("used_cpu_user:")) {
                seconds += Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return Math.round(seconds * 1e6);
    }

    /**
     * Prints how many Redis commands of each kind one operation sent, from the
     * {@code INFO commandstats} delta; background heartbeats add a few per second.
     */
    void printCommandsPerOp(String label, Map<String, Long> before, long ops) {
        if (ops <= 0) {
            return;
        }
        Map<String, Long> after = commandCalls();
        StringBuilder line = new StringBuilder("\n[commands per op] ").append(label).append(" (").append(ops)
                .append(" ops):");
        after.forEach((command, calls) -> {
            long delta = calls - before.getOrDefault(command, 0L);
            if (command.equals("info") || command.equals(REDIS_CPU_MICROS) || delta * 100 < ops) {
                return;
            }
            line.append(String.format(" %s=%.2f", command, (double) delta / ops));
        });
        long cpu = after.get(REDIS_CPU_MICROS) - before.getOrDefault(REDIS_CPU_MICROS, 0L);
        line.append(String.format("; Redis CPU %.2f us per op", (double) cpu / ops));
        System.out.println(line);
    }

    @Override
    public void close() {
        if (this.heartbeats != null) {
            this.heartbeats.shutdownNow();
        }
        this.client.stopListeningForLinkChanges();
        this.executor.close();
        this.statsConnection.close();
        this.redisClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        this.server.close();
    }
}
