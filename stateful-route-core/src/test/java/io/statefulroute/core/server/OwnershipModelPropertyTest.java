package io.statefulroute.core.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Seeded random interleavings of pod stalls, heartbeats, routing (with relinks of stalled
 * pods' users), users reaching their pods, handoffs, releases and time passing, on real Redis
 * with short lease timings. After every step: at most one pod believes it owns each user, a
 * pod that believes it owns a user is the one Redis links the user to, and the in-memory model
 * of what each pod acquired and gave up explains every held user and every loss report
 * (each lost user reported once per acquisition). Rerun a failing case with its seed.
 */
class OwnershipModelPropertyTest {

    private static final Duration POD_EXPIRY = Duration.ofMillis(800);

    private static final Duration LEASE_MARGIN = Duration.ofMillis(200);

    private static final Duration RELINK_GRACE = Duration.ofMillis(400);

    private static final int PODS = 3;

    private static final int USERS = 12;

    private static final int STEPS = 100;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = { 11, 2026 })
    void atMostOneOwnerAtEveryStep(long seed) throws Exception {
        Random random = new Random(seed);
        try (TestRedis redis = TestRedis.on(RedisServers.shared())) {
            String ns = TestRedis.freshNamespace();
            StatefulExecutor truth = redis.executor();
            List<StatefulRouteForServerDriver> pods = new ArrayList<>();
            boolean[] stalled = new boolean[PODS];
            // the model: how many times each pod acquired each user (through a successful write of a user it
            // did not hold) minus the times it gave it up or reported it lost; a loss report may trail a new
            // acquisition, so counts rather than a set
            Map<Integer, Model> acquired = new ConcurrentHashMap<>();
            List<String> violations = new CopyOnWriteArrayList<>();
            for (int index = 0; index < PODS; index++) {
                int podIndex = index;
                acquired.put(podIndex, new Model());
                StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(redis.executor(),
                        new ServerOptions(new PodIdentity(ns, "chat", index), 0, Duration.ZERO)
                            .withLease(POD_EXPIRY, LEASE_MARGIN, RELINK_GRACE));
                pod.addOwnershipListener(new OwnershipListener() {
                    @Override
                    public void usersLost(PodIdentity identity, Set<String> uids, LossReason reason) {
                        for (String uid : uids) {
                            if (!acquired.get(podIndex).giveUp(uid)) {
                                violations.add("pod " + podIndex + " reported " + uid + " lost without holding it");
                            }
                        }
                    }
                });
                pod.followLinkChanges();
                pod.start();
                pods.add(pod);
            }
            List<StatefulRouteForClientDriver> gateways = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                StatefulExecutor executor = redis.executor();
                gateways.add(new StatefulRouteForClientDriver(executor,
                        new RouteInfoDriver(new ServiceStateCache(executor, POD_EXPIRY, RELINK_GRACE),
                                PodSelectionStrategy.RANDOM.newSelector()),
                        ClientOptions.defaults(ns)));
            }
            gateways.forEach(StatefulRouteForClientDriver::listenForLinkChanges);
            List<String> trace = new ArrayList<>();
            for (int step = 0; step < STEPS; step++) {
                for (int index = 0; index < PODS; index++) {
                    if (!stalled[index]) {
                        pods.get(index).heartbeatAsync();
                    }
                }
                int podIndex = random.nextInt(PODS);
                StatefulRouteForServerDriver pod = pods.get(podIndex);
                String uid = "u" + random.nextInt(USERS);
                int action = random.nextInt(100);
                if (action < 8) {
                    stalled[podIndex] = !stalled[podIndex];
                    trace.add((stalled[podIndex] ? "stall " : "resume ") + podIndex);
                }
                else if (action < 50) {
                    StatefulRouteForClientDriver gateway = gateways.get(random.nextInt(gateways.size()));
                    gateway.routeInfo().states().refreshAsync();
                    try {
                        int target = gateway.computeLinkedPod(ns, uid, "chat");
                        trace.add("route " + uid + " -> " + target);
                        // the user reaches its pod, which persists the link while it holds the state
                        if (!stalled[target]) {
                            take(pods.get(target), acquired.get(target), uid);
                        }
                    }
                    catch (StatefulRouteException ex) {
                        trace.add("route " + uid + " failed: " + ex.getClass().getSimpleName());
                    }
                }
                else if (action < 62 && !stalled[podIndex] && pod.owns(uid)) {
                    int target = (podIndex + 1 + random.nextInt(PODS - 1)) % PODS;
                    acquired.get(podIndex).giveUp(uid);
                    boolean moved = pod.handOff(uid, target);
                    trace.add("handoff " + uid + " " + podIndex + " -> " + target + " " + moved);
                    if (moved && !stalled[target]) {
                        try {
                            take(pods.get(target), acquired.get(target), uid);
                        }
                        catch (StatefulRouteException ex) {
                            trace.add("take-over refused: " + ex.getClass().getSimpleName());
                        }
                    }
                }
                else if (action < 70 && !stalled[podIndex] && pod.owns(uid)) {
                    acquired.get(podIndex).giveUp(uid);
                    pod.removeLinkedPod(uid, random.nextBoolean() ? 0 : 5);
                    trace.add("release " + uid + " from " + podIndex);
                }
                else {
                    long millis = random.nextInt(250);
                    Thread.sleep(millis);
                    trace.add("time +" + millis + " ms");
                }
                check(step, trace, pods, acquired, truth, ns);
                if (!violations.isEmpty()) {
                    fail("seed " + seed + " step " + step + ": " + violations + "\n" + String.join("\n", trace));
                }
            }
            long lapses = pods.stream().mapToLong((pod) -> pod.leaseStatus().lapses()).sum();
            long lost = pods.stream().mapToLong((pod) -> pod.leaseStatus().usersLost()).sum();
            System.out.printf("seed %d: %d steps, %d lease lapses, %d users lost%n", seed, STEPS, lapses, lost);
            assertThat(lapses).as("the interleaving stalled pods past their lease").isPositive();
            gateways.forEach(StatefulRouteForClientDriver::stopListeningForLinkChanges);
            pods.forEach(StatefulRouteForServerDriver::stopAsync);
        }
    }

    private static void take(StatefulRouteForServerDriver pod, Model model, String uid) {
        boolean held = pod.heldUsers().contains(uid);
        if (pod.trySetLinkedPod(uid, RouteArguments.PERSIST_FOREVER).success() && !held) {
            model.acquire(uid);
        }
    }

    /** Acquisitions minus give-ups and losses, per user, of one pod. */
    private static final class Model {

        private final Map<String, Integer> counts = new ConcurrentHashMap<>();

        void acquire(String uid) {
            this.counts.merge(uid, 1, Integer::sum);
        }

        /** Whether the pod had acquired the user. */
        boolean giveUp(String uid) {
            boolean[] had = new boolean[1];
            this.counts.computeIfPresent(uid, (key, count) -> {
                had[0] = true;
                return (count > 1) ? count - 1 : null;
            });
            return had[0];
        }

        Set<String> users() {
            return this.counts.keySet();
        }
    }

    private static void check(int step, List<String> trace, List<StatefulRouteForServerDriver> pods,
            Map<Integer, Model> acquired, StatefulExecutor truth, String ns) {
        for (int u = 0; u < USERS; u++) {
            String uid = "u" + u;
            List<Integer> owners = new ArrayList<>();
            for (int index = 0; index < PODS; index++) {
                if (pods.get(index).owns(uid)) {
                    owners.add(index);
                }
            }
            if (owners.isEmpty()) {
                continue;
            }
            String context = "step " + step + ", " + uid + " owned by " + owners + "\n" + String.join("\n", trace);
            assertThat(owners).as(context).hasSize(1);
            int owner = owners.get(0);
            assertThat(truth.getLinkedPod(ns, uid, "chat")).as("Redis link; " + context).hasValue(owner);
        }
        for (int index = 0; index < PODS; index++) {
            assertThat(acquired.get(index).users()).as("model explains what pod %d holds at step %d", index, step)
                .containsAll(pods.get(index).heldUsers());
        }
    }
}
