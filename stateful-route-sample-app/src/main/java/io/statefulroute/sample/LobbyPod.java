package io.statefulroute.sample;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.core.server.HandoffReport;
import io.statefulroute.core.server.LossReason;
import io.statefulroute.core.server.OwnershipListener;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;

/**
 * One pod of the lobby service running in this process: the players it holds, published
 * through its {@link StatefulRouteForServerDriver}. A simulated pod (demo mode) can also be
 * killed and restarted.
 */
final class LobbyPod {

    private static final Logger logger = LoggerFactory.getLogger(LobbyPod.class);

    /** Players handed over at a time: their writes are in flight together. */
    private static final int HANDOFF_BATCH = 32;

    private final int index;

    /** Makes a fresh driver for a restart; null for the starter's pod, which cannot be killed. */
    private final Supplier<StatefulRouteForServerDriver> newDriver;

    private volatile StatefulRouteForServerDriver driver;

    private volatile boolean dead;

    /** A freeze (a long GC pause, a stopped VM): no heartbeats, but the players stay in memory. */
    private volatile boolean frozen;

    private final AtomicInteger lostPlayers = new AtomicInteger();

    LobbyPod(StatefulRouteForServerDriver driver, Supplier<StatefulRouteForServerDriver> newDriver) {
        this.index = driver.identity().podIndex();
        this.newDriver = newDriver;
        use(driver);
    }

    /**
     * Players this pod lost (its lease lapsed and gateways moved them, or another pod took them)
     * are dropped at once: their state now lives on their new pod.
     */
    private void use(StatefulRouteForServerDriver driver) {
        driver.addOwnershipListener(new OwnershipListener() {
            @Override
            public void leaseLapsed(PodIdentity pod, Duration sinceLastSuccess) {
                logger.warn("Pod {} lost its lease: it serves none of its players until a heartbeat gets through", pod);
            }

            @Override
            public void usersLost(PodIdentity pod, Set<String> uids, LossReason reason) {
                lostPlayers.addAndGet(uids.size());
                logger.warn("Pod {} lost {} players ({}), dropping their state: {}", pod, uids.size(), reason, uids);
                driver.setLoadState(driver.heldUsers().size());
            }
        });
        this.driver = driver;
    }

    int index() {
        return this.index;
    }

    StatefulRouteForServerDriver driver() {
        return this.driver;
    }

    boolean isSimulated() {
        return this.newDriver != null;
    }

    boolean isDead() {
        return this.dead;
    }

    boolean isFrozen() {
        return this.frozen;
    }

    /** Players this pod found moved elsewhere and dropped, since it started. */
    int lostPlayers() {
        return this.lostPlayers.get();
    }

    /** Whether the pod owns its players now (its lease is live). */
    boolean leaseLive() {
        return !this.dead && this.driver.isLeaseLive();
    }

    /** Players whose state this pod holds; a dead pod lost them all. */
    int players() {
        return this.dead ? 0 : this.driver.heldUsers().size();
    }

    boolean holds(String uid) {
        return this.driver.heldUsers().contains(uid);
    }

    /** Whether this pod may serve the player now: it holds the player and its lease is live. */
    boolean serves(String uid) {
        return leaseLive() && holds(uid);
    }

    /**
     * The player arrived: this pod takes the player (a persistent link) unless Redis says
     * another pod holds the player, so it never takes a player back from the pod that has it.
     * @return whether this pod holds the player now, else the pod that does
     * @throws io.statefulroute.core.StatefulRouteException when the pod may take nobody now:
     * its lease lapsed, Redis refused the write as decided too late
     * ({@code FencedWriteException}, {@code UserTakenException}), or Redis does not answer
     */
    TrySetResult join(String uid) {
        TrySetResult joined = this.driver.trySetLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        this.driver.setLoadState(players());
        return joined;
    }

    /**
     * Takes the player from whichever pod holds it ({@code setLinkedPod} over another pod's
     * persistent link is a deliberate steal): that pod learns it lost the player, and gateways
     * close the player's sessions to it.
     */
    void take(String uid) {
        this.driver.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        this.driver.setLoadState(players());
    }

    /** The player left: the link goes, so the next visit may land on any pod. */
    void leave(String uid) {
        this.driver.removeLinkedPodWithId(uid, 0);
        this.driver.setLoadState(players());
    }

    /**
     * Hands every player over to the other routable pods, each moved only if still linked
     * here (run it while draining, so no new player arrives meanwhile).
     */
    HandoffReport handOffAll(RouteInfoDriver routeInfo) {
        HandoffReport report = this.driver.handOffAll(routeInfo, HANDOFF_BATCH);
        this.driver.setLoadState(players());
        return report;
    }

    /** Publishes the pod's state; a dead or frozen pod publishes nothing. */
    void heartbeat() {
        if (!this.dead && !this.frozen) {
            this.driver.heartbeat();
        }
    }

    /** Keeps its players, takes no new ones ({@code DENY_NEW_CALL}). */
    void drain() {
        this.driver.setRoutingState(RoutingState.DENY_NEW_CALL);
    }

    void undrain() {
        this.driver.setRoutingState(RoutingState.READY);
    }

    /**
     * A crash: heartbeats stop. Once the last one is older than the pod expiry, gateways see
     * the pod dead and move each of its players to a live pod on the player's next request.
     */
    void kill() {
        requireSimulated();
        this.dead = true;
    }

    /**
     * A freeze: heartbeats stop but the players stay in memory. Past the pod expiry plus the
     * relink grace, gateways move the players; the pod's lease lapsed before that.
     */
    void freeze() {
        requireSimulated();
        this.frozen = true;
    }

    /** The freeze ends: heartbeats resume and the pod reports the players it lost meanwhile. */
    void thaw() {
        requireSimulated();
        this.frozen = false;
    }

    /**
     * Starts a simulated pod's driver (the starter starts its own pod) and follows link change
     * notices, so the pod learns at once when another pod takes one of its players.
     */
    void startSimulated() {
        this.driver.start();
        this.driver.followLinkChanges();
    }

    /** Starts again as a new process would: no players, {@code READY}. */
    void restart() {
        requireSimulated();
        StatefulRouteForServerDriver fresh = this.newDriver.get();
        use(fresh);
        startSimulated();
        this.dead = false;
        this.frozen = false;
    }

    private void requireSimulated() {
        if (!isSimulated()) {
            throw new UnsupportedOperationException("Only simulated pods can be killed or restarted; stop this process instead");
        }
    }

}
