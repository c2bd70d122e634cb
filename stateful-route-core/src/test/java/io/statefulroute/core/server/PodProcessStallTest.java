package io.statefulroute.core.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Pod 0 runs in its own JVM ({@link PodProcess}) and is frozen with {@code SIGSTOP} for two pod
 * expiries while two gateways route its users to pods 1 and 2 (in this JVM), which take them;
 * after {@code SIGCONT} it reports every lost user exactly once, holds and owns none of them,
 * and no gateway moved a user before the pod's lease had ended (last successful heartbeat send
 * plus the lease duration, on the shared monotonic clock).
 */
@EnabledOnOs(OS.LINUX)
class PodProcessStallTest {

    private static final Duration POD_EXPIRY = Duration.ofMillis(1500);

    private static final Duration LEASE_MARGIN = Duration.ofMillis(300);

    private static final Duration RELINK_GRACE = Duration.ofMillis(600);

    private static final long PERIOD_MS = 150;

    private static final int USERS = 30;

    private Process child;

    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private final List<AutoCloseable> closing = new ArrayList<>();

    /** LOST reports per user, counted from every line read, whoever reads it. */
    private final Map<String, Integer> lost = new ConcurrentHashMap<>();

    /** The latest LAPSED report: when pod 0 noticed, and how long after its last successful send. */
    private final long[] lapse = new long[2];

    @AfterEach
    void stop() throws Exception {
        if (this.child != null && this.child.isAlive()) {
            signal("CONT");
            this.child.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        for (AutoCloseable closeable : this.closing) {
            closeable.close();
        }
    }

    @Test
    void aPodProcessFrozenBySigstopReportsEveryLostUserOnce() throws Exception {
        TestRedis redis = TestRedis.on(RedisServers.shared());
        this.closing.add(redis);
        String ns = TestRedis.freshNamespace();
        // generous timeouts: the test shares a loaded machine with a second JVM
        StatefulExecutor truth = redis.executor(Duration.ofSeconds(10));
        List<StatefulRouteForServerDriver> pods = new ArrayList<>();
        pods.add(null);
        for (int index = 1; index < 3; index++) {
            StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(redis.executor(Duration.ofSeconds(1)),
                    new ServerOptions(new PodIdentity(ns, "chat", index), 0, Duration.ZERO)
                        .withLease(POD_EXPIRY, LEASE_MARGIN, RELINK_GRACE));
            pod.setRoutingState(RoutingState.DENY_NEW_CALL);
            pod.start();
            pods.add(pod);
        }
        ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor();
        this.closing.add(heartbeats::shutdownNow);
        heartbeats.scheduleAtFixedRate(() -> pods.subList(1, 3).forEach(StatefulRouteForServerDriver::heartbeatAsync),
                PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
        startChild(ns);
        List<String> seen = new ArrayList<>();
        String ready = await().atMost(Duration.ofSeconds(60)).failFast("pod process exited: " + seen,
                () -> !this.child.isAlive()).until(() -> {
                    String line = next("");
                    if (line != null) {
                        seen.add(line);
                    }
                    return line;
                }, "READY"::equals);
        assertThat(ready).isEqualTo("READY");

        List<StatefulRouteForClientDriver> gateways = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            StatefulRouteForClientDriver gateway = TestGateways.following(redis.executor(Duration.ofSeconds(10)), ns,
                    POD_EXPIRY, RELINK_GRACE);
            gateways.add(gateway);
            this.closing.add(gateway::stopListeningForLinkChanges);
        }
        pods.get(1).setRoutingState(RoutingState.READY);
        pods.get(2).setRoutingState(RoutingState.READY);
        for (StatefulRouteForClientDriver gateway : gateways) {
            for (int i = 0; i < USERS; i++) {
                assertThat(gateway.computeLinkedPod(ns, "player-" + i, "chat")).isZero();
            }
        }

        // on a loaded machine pod 0 may have lapsed and renewed since READY: stop it while it owns every user
        await().atMost(Duration.ofSeconds(20)).until(() -> ask("OWNS").size() == USERS);
        this.lapse[0] = 0;
        signal("STOP");
        long stoppedAt = System.nanoTime();
        Map<String, Long> movedAt = new LinkedHashMap<>();
        long stallEnd = stoppedAt + POD_EXPIRY.multipliedBy(2).toNanos();
        long giveUp = stoppedAt + Duration.ofSeconds(20).toNanos();
        while ((System.nanoTime() - stallEnd < 0 || movedAt.size() < USERS) && System.nanoTime() - giveUp < 0) {
            for (int i = 0; i < USERS; i++) {
                String uid = "player-" + i;
                for (StatefulRouteForClientDriver gateway : gateways) {
                    gateway.routeInfo().states().refreshAsync();
                    int pod;
                    try {
                        pod = gateway.computeLinkedPod(ns, uid, "chat");
                    }
                    catch (StatefulRouteException ex) {
                        continue;
                    }
                    if (pod != 0) {
                        movedAt.putIfAbsent(uid, System.nanoTime());
                        if (!pods.get(pod).heldUsers().contains(uid)) {
                            // the user reaches its new pod, which persists the link while it holds the state
                            pods.get(pod).trySetLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
                        }
                    }
                }
            }
        }
        assertThat(movedAt).as("every user moved while pod 0 was stopped").hasSize(USERS);
        long resumedAt = System.nanoTime();
        signal("CONT");

        Map<String, Integer> lost = this.lost;
        long[] lapse = this.lapse;
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            next("(none)");
            return lost.size() == USERS && lapse[0] != 0;
        });
        // the lease ended at its last successful send plus the lease duration, whenever the pod noticed
        long leaseEnd = lapse[0] - lapse[1] + POD_EXPIRY.minus(LEASE_MARGIN).toNanos();
        long firstMove = movedAt.values().stream().mapToLong(Long::longValue).min().orElseThrow();
        System.out.printf("SIGSTOP: lease ended %d ms after the stop, first relink at %d ms (%d ms later), "
                + "lapse noticed %d ms after SIGCONT; %d users moved, %d lost reports%n",
                (leaseEnd - stoppedAt) / 1_000_000, (firstMove - stoppedAt) / 1_000_000,
                (firstMove - leaseEnd) / 1_000_000, (lapse[0] - resumedAt) / 1_000_000, movedAt.size(),
                lost.values().stream().mapToInt(Integer::intValue).sum());
        assertThat(firstMove).as("no gateway moved a user before pod 0's lease ended").isGreaterThan(leaseEnd);
        assertThat(ask("HELD")).as("users pod 0 still holds").isEmpty();
        assertThat(ask("OWNS")).as("users pod 0 believes it owns").isEmpty();
        assertThat(lost).as("every lost user reported exactly once").hasSize(USERS)
            .allSatisfy((uid, reports) -> assertThat(reports).isOne());
        List<String> users = movedAt.keySet().stream().toList();
        Map<Integer, List<String>> linked = truth.batchGetLinkedPod(ns, users, "chat");
        for (String uid : users) {
            List<Integer> holders = new ArrayList<>();
            for (int index = 1; index < 3; index++) {
                if (pods.get(index).heldUsers().contains(uid)) {
                    holders.add(index);
                }
            }
            assertThat(holders).as("pods holding %s", uid).hasSize(1);
            assertThat(linked.get(holders.get(0))).as("Redis links %s to its holder", uid).contains(uid);
        }
        for (int index = 1; index < 3; index++) {
            pods.get(index).stopAsync();
        }
    }

    private void startChild(String ns) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        this.child = new ProcessBuilder(java, "-Xmx128m", "-cp", System.getProperty("java.class.path"),
                PodProcess.class.getName(), Integer.toString(RedisServers.shared().port()), ns,
                Integer.toString(USERS), Long.toString(POD_EXPIRY.toMillis()), Long.toString(LEASE_MARGIN.toMillis()),
                Long.toString(RELINK_GRACE.toMillis()), Long.toString(PERIOD_MS))
            .redirectErrorStream(true)
            .start();
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(
                    new InputStreamReader(this.child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    this.lines.add(line);
                }
            }
            catch (IOException ex) {
                // the child exited
            }
        }, "pod-process-output");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * The next line starting with the prefix, skipping log lines and counting LOST and LAPSED
     * reports on the way; null if none yet.
     */
    private String next(String prefix) {
        for (String line = this.lines.poll(); line != null; line = this.lines.poll()) {
            if (line.startsWith("LOST ")) {
                this.lost.merge(line.substring(5), 1, Integer::sum);
            }
            else if (line.startsWith("LAPSED ")) {
                String[] parts = line.split(" ");
                this.lapse[0] = Long.parseLong(parts[1]);
                this.lapse[1] = Long.parseLong(parts[2]);
            }
            if (line.startsWith(prefix)) {
                return line;
            }
        }
        return null;
    }

    private List<String> ask(String command) throws IOException {
        Writer in = new OutputStreamWriter(this.child.getOutputStream(), StandardCharsets.UTF_8);
        in.write(command + "\n");
        in.flush();
        String answer = await().atMost(Duration.ofSeconds(10)).until(() -> next(command), (line) -> line != null);
        String users = answer.substring(command.length()).trim();
        return users.isEmpty() ? List.of() : Arrays.asList(users.split(","));
    }

    private void signal(String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(this.child.pid())).start();
        assertThat(kill.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).as("kill -%s", signal).isZero();
    }
}
