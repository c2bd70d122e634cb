package io.statefulroute.core.rebalance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.LinkChangeListener;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.ServiceStateCache;

import static org.awaitility.Awaitility.await;

/**
 * Pods of a lobby service as separate processes would run them, in this JVM on real Redis: each
 * with a connection, driver, state cache and rebalancer of its own, heartbeating every
 * {@value #HEARTBEAT_MILLIS} ms with its player count as its load. Users go where their link
 * says, as they would once a gateway closed their socket on a move: a notice that a user's link
 * changed makes the pod it names now take the user ({@code trySetLinkedPod}, persistent), on a
 * thread of the users' own. A {@link Checker} can sample every user throughout.
 */
final class LobbyPods implements AutoCloseable {

    static final String SERVICE = "lobby";

    static final Duration POD_EXPIRY = Duration.ofSeconds(3);

    static final Duration LEASE_MARGIN = Duration.ofMillis(600);

    static final Duration RELINK_GRACE = Duration.ofMillis(600);

    static final long HEARTBEAT_MILLIS = 100;

    private final TestRedis redis;

    private final String ns;

    /** The users' side: notices and arrivals. */
    private final StatefulExecutor users;

    private final Map<Integer, Pod> pods = new ConcurrentHashMap<>();

    /** Every rebalancer started, including those of pods since replaced. */
    private final List<Rebalancer> rebalancers = new CopyOnWriteArrayList<>();

    private final List<String> uids = new CopyOnWriteArrayList<>();

    private final List<String> arrivalFailures = new CopyOnWriteArrayList<>();

    private final AtomicLong arrivals = new AtomicLong();

    private final ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor();

    private final ExecutorService arriving = Executors.newSingleThreadExecutor();

    private final AutoCloseable notices;

    private Checker checker;

    /**
     * One pod.
     * @param driver its server driver
     * @param states its own view of the service's pods
     * @param rebalancer its rebalancer, not started
     */
    record Pod(StatefulRouteForServerDriver driver, ServiceStateCache states, Rebalancer rebalancer) {
    }

    LobbyPods(TestRedis redis, String ns) throws InterruptedException {
        this.redis = redis;
        this.ns = ns;
        this.users = redis.executor();
        CountDownLatch subscribed = new CountDownLatch(1);
        this.notices = this.users.subscribeLinkChanges(new LinkChangeListener() {
            @Override
            public void linkChanged(String namespace, String uid, String service) {
                if (namespace.equals(ns) && service.equals(SERVICE)) {
                    LobbyPods.this.arriving.execute(() -> arrive(uid));
                }
            }

            @Override
            public void probeReceived(String token) {
            }

            @Override
            public void subscribed() {
                subscribed.countDown();
            }
        });
        if (!subscribed.await(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("No link change subscription");
        }
        this.heartbeats.scheduleAtFixedRate(this::heartbeat, HEARTBEAT_MILLIS, HEARTBEAT_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Starts pod {@code index} (replacing a stopped one), with a rebalancer that is not started yet. */
    Pod start(int index, RebalanceOptions options, MoveConsent consent) {
        return start(index, options, consent, PodCapacity.UNLIMITED);
    }

    Pod start(int index, RebalanceOptions options, MoveConsent consent, PodCapacity capacity) {
        return start(index, newExecutor(), options, consent, capacity);
    }

    /** Starts pod {@code index} on the given executor (e.g. one whose calls the test holds). */
    Pod start(int index, StatefulExecutor executor, RebalanceOptions options, MoveConsent consent,
            PodCapacity capacity) {
        StatefulRouteForServerDriver driver = new StatefulRouteForServerDriver(executor,
                new ServerOptions(new PodIdentity(this.ns, SERVICE, index), 0, Duration.ZERO)
                    .withLease(POD_EXPIRY, LEASE_MARGIN, RELINK_GRACE)
                    .withCapacity(capacity));
        driver.start();
        driver.followLinkChanges();
        ServiceStateCache states = new ServiceStateCache(executor, POD_EXPIRY, RELINK_GRACE);
        Pod pod = new Pod(driver, states, new Rebalancer(driver, states, options, consent));
        this.pods.put(index, pod);
        this.rebalancers.add(pod.rebalancer());
        return pod;
    }

    /** Pod {@code index} takes {@code count} new users, persistently. */
    List<String> take(int index, int count) {
        List<String> taken = new ArrayList<>();
        StatefulRouteForServerDriver driver = pod(index).driver();
        for (int i = 0; i < count; i++) {
            String uid = "p" + index + "-" + this.uids.size();
            driver.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
            this.uids.add(uid);
            taken.add(uid);
        }
        return taken;
    }

    /** Waits until each user is owned by a pod (users taken by a fresh lease are confirmed after the grace). */
    void awaitOwned() {
        await().atMost(Duration.ofSeconds(20)).until(() -> this.uids.stream()
            .allMatch((uid) -> this.pods.values().stream().anyMatch((pod) -> pod.driver().owns(uid))));
    }

    /** A connection of its own, as a separate process would have. */
    StatefulExecutor newExecutor() {
        return this.redis.executor();
    }

    String namespace() {
        return this.ns;
    }

    Pod pod(int index) {
        return this.pods.get(index);
    }

    List<String> users() {
        return List.copyOf(this.uids);
    }

    /** Users each running pod holds, by pod index; 0 for pods not running. */
    int[] held(int podCount) {
        int[] held = new int[podCount];
        this.pods.forEach((index, pod) -> {
            if (pod.driver().isRunning() && index < podCount) {
                held[index] = pod.driver().heldUsers().size();
            }
        });
        return held;
    }

    /** Users every rebalancer ever started here handed off. */
    long moves() {
        return this.rebalancers.stream().mapToLong((rebalancer) -> rebalancer.stats().completed()).sum();
    }

    /** Rounds each current pod's rebalancer ran, by pod index. */
    Map<Integer, Long> rounds() {
        Map<Integer, Long> rounds = new HashMap<>();
        this.pods.forEach((index, pod) -> rounds.put(index, pod.rebalancer().stats().rounds()));
        return rounds;
    }

    /** Where Redis links each user now. */
    Map<String, Integer> links() {
        Map<String, Integer> links = new HashMap<>();
        this.users.batchGetLinkedPod(this.ns, users(), SERVICE)
            .forEach((pod, linked) -> linked.forEach((uid) -> links.put(uid, pod)));
        return links;
    }

    long arrivals() {
        return this.arrivals.get();
    }

    List<String> arrivalFailures() {
        return this.arrivalFailures;
    }

    /** Starts sampling every user on every pod and in Redis, until closed. */
    Checker startChecker() {
        this.checker = new Checker(this.redis.executor());
        Thread thread = new Thread(this.checker, "ownership-checker");
        thread.setDaemon(true);
        thread.start();
        return this.checker;
    }

    private void heartbeat() {
        for (Pod pod : this.pods.values()) {
            StatefulRouteForServerDriver driver = pod.driver();
            if (driver.isRunning()) {
                driver.setLoadState(driver.heldUsers().size());
                driver.heartbeat();
            }
        }
    }

    /** The user reaches the pod its link names, which takes it if it does not hold it yet. */
    private void arrive(String uid) {
        OptionalInt linked = this.users.getLinkedPod(this.ns, uid, SERVICE);
        Pod pod = linked.isPresent() ? this.pods.get(linked.getAsInt()) : null;
        if (pod == null || !pod.driver().isRunning() || pod.driver().heldUsers().contains(uid)) {
            return;
        }
        try {
            if (pod.driver().trySetLinkedPod(uid, RouteArguments.PERSIST_FOREVER).success()) {
                this.arrivals.incrementAndGet();
            }
        }
        catch (StatefulRouteException ex) {
            this.arrivalFailures.add(uid + " at pod " + linked.getAsInt() + ": " + ex);
        }
    }

    @Override
    public void close() {
        if (this.checker != null) {
            this.checker.stop();
        }
        this.rebalancers.forEach(Rebalancer::stop);
        try {
            this.notices.close();
        }
        catch (Exception ex) {
            // the connection goes with the test's Redis client anyway
        }
        this.arriving.shutdownNow();
        this.pods.values().forEach((pod) -> pod.driver().stop());
        this.heartbeats.shutdownNow();
    }

    /**
     * Samples every user, over and over: whether each pod owns it, then where Redis links it
     * (one pipelined read), then whether each pod owns it again. A pod that owns a user no
     * longer gets it back within a sample (no pod here sheds a user it was just given), so a
     * pod that owned the user at both of its readings owned it in between: another pod owning
     * the user at a reading in between, or Redis linking it elsewhere, is a user on two pods.
     */
    final class Checker implements Runnable {

        private final StatefulExecutor reads;

        private volatile boolean running = true;

        private final AtomicLong samples = new AtomicLong();

        private final AtomicLong violationCount = new AtomicLong();

        private final List<String> violations = new CopyOnWriteArrayList<>();

        Checker(StatefulExecutor reads) {
            this.reads = reads;
        }

        @Override
        public void run() {
            while (this.running) {
                try {
                    sample();
                    this.samples.incrementAndGet();
                }
                catch (StatefulRouteException ex) {
                    violation("sample failed: " + ex);
                }
                // leaves the two cores to the pods between samples
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
            }
        }

        private void sample() {
            List<String> users = users();
            List<Pod> pods = List.copyOf(LobbyPods.this.pods.values());
            int size = pods.stream().mapToInt((pod) -> pod.driver().identity().podIndex()).max().orElse(0) + 1;
            StatefulRouteForServerDriver[] byIndex = new StatefulRouteForServerDriver[size];
            pods.forEach((pod) -> byIndex[pod.driver().identity().podIndex()] = pod.driver());
            boolean[][] before = owners(users, byIndex);
            Map<String, Integer> linked = new HashMap<>();
            this.reads.batchGetLinkedPod(LobbyPods.this.ns, users, SERVICE)
                .forEach((pod, uids) -> uids.forEach((uid) -> linked.put(uid, pod)));
            boolean[][] after = owners(users, byIndex);
            for (int u = 0; u < users.size(); u++) {
                for (int x = 0; x < size; x++) {
                    if (!(before[u][x] && after[u][x])) {
                        continue;
                    }
                    Integer link = linked.get(users.get(u));
                    if (link == null || link != x) {
                        violation(users.get(u) + " owned by pod " + x + " throughout, linked to " + link);
                    }
                    for (int y = 0; y < size; y++) {
                        // pods after x were read between x's readings in the first pass, pods before it in the second
                        boolean between = (y > x) ? before[u][y] : (y < x && after[u][y]);
                        if (between) {
                            violation(users.get(u) + " owned by pods " + x + " and " + y + " at once");
                        }
                    }
                }
            }
        }

        private boolean[][] owners(List<String> users, StatefulRouteForServerDriver[] byIndex) {
            boolean[][] owners = new boolean[users.size()][byIndex.length];
            for (int u = 0; u < users.size(); u++) {
                for (int p = 0; p < byIndex.length; p++) {
                    owners[u][p] = byIndex[p] != null && byIndex[p].owns(users.get(u));
                }
            }
            return owners;
        }

        private void violation(String what) {
            this.violationCount.incrementAndGet();
            if (this.violations.size() < 20) {
                this.violations.add(what);
            }
        }

        long samples() {
            return this.samples.get();
        }

        long violationCount() {
            return this.violationCount.get();
        }

        List<String> violations() {
            return this.violations;
        }

        void stop() {
            this.running = false;
        }
    }
}
