package io.statefulroute.sample;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;

import org.springframework.context.SmartLifecycle;

/**
 * The lobby pods running in this process. Simulated pods heartbeat on a scheduler of their
 * own and drain when the application stops; the starter's pod is started, heartbeated and
 * drained by the starter.
 */
final class LobbyPods implements SmartLifecycle {

    /** Simulated pods hold no real state, so a short drain keeps Ctrl-C quick. */
    private static final Duration SIMULATED_DRAIN = Duration.ofSeconds(1);

    private final Map<Integer, LobbyPod> pods = new TreeMap<>();

    private final Duration heartbeatPeriod;

    private ScheduledExecutorService heartbeats;

    private LobbyPods(Duration heartbeatPeriod) {
        this.heartbeatPeriod = heartbeatPeriod;
    }

    /**
     * Pods {@code 0..count-1} of the service, each with its own server driver on the shared
     * executor; {@code lease} gives them the gateways' pod expiry and relink grace.
     */
    static LobbyPods simulated(StatefulExecutor executor, String namespace, String service, int count,
            Duration heartbeatPeriod, UnaryOperator<ServerOptions> lease) {
        LobbyPods lobbyPods = new LobbyPods(heartbeatPeriod);
        for (int index = 0; index < count; index++) {
            ServerOptions options = lease.apply(
                    new ServerOptions(new PodIdentity(namespace, service, index), 0.3, SIMULATED_DRAIN));
            lobbyPods.add(new LobbyPod(new StatefulRouteForServerDriver(executor, options),
                    () -> new StatefulRouteForServerDriver(executor, options)));
        }
        return lobbyPods;
    }

    /** This process is one pod of the service: the starter's. */
    static LobbyPods thisProcess(StatefulRouteForServerDriver server) {
        LobbyPods lobbyPods = new LobbyPods(null);
        lobbyPods.add(new LobbyPod(server, null));
        return lobbyPods;
    }

    private void add(LobbyPod pod) {
        this.pods.put(pod.index(), pod);
    }

    Collection<LobbyPod> all() {
        return this.pods.values();
    }

    Optional<LobbyPod> find(int index) {
        return Optional.ofNullable(this.pods.get(index));
    }

    boolean isSimulated() {
        return this.heartbeatPeriod != null;
    }

    @Override
    public void start() {
        if (!isSimulated()) {
            return;
        }
        all().forEach(LobbyPod::startSimulated);
        this.heartbeats = Executors.newSingleThreadScheduledExecutor((task) -> {
            Thread thread = new Thread(task, "lobby-pods-heartbeat");
            thread.setDaemon(true);
            return thread;
        });
        long period = this.heartbeatPeriod.toMillis();
        this.heartbeats.scheduleAtFixedRate(() -> all().forEach(LobbyPod::heartbeat), period, period,
                TimeUnit.MILLISECONDS);
    }

    /** Drains every live simulated pod (heartbeats go on meanwhile), then stops the heartbeats. */
    @Override
    public void stop(Runnable callback) {
        if (this.heartbeats == null) {
            callback.run();
            return;
        }
        CompletableFuture<?>[] drains = all().stream()
            .filter((pod) -> !pod.isDead())
            .map((pod) -> pod.driver().stopAsync())
            .toArray(CompletableFuture[]::new);
        CompletableFuture.allOf(drains).whenComplete((done, ex) -> {
            this.heartbeats.shutdownNow();
            this.heartbeats = null;
            callback.run();
        });
    }

    @Override
    public void stop() {
        stop(() -> { });
    }

    @Override
    public boolean isRunning() {
        return this.heartbeats != null;
    }

}
