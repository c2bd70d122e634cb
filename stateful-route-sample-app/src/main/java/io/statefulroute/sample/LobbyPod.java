package io.statefulroute.sample;

import java.util.function.Supplier;

import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;

/**
 * One pod of the lobby service running in this process: the players it holds, published
 * through its {@link StatefulRouteForServerDriver}. A simulated pod (demo mode) can also be
 * killed and restarted.
 */
final class LobbyPod {

    private final int index;

    /** Makes a fresh driver for a restart; null for the starter's pod, which cannot be killed. */
    private final Supplier<StatefulRouteForServerDriver> newDriver;

    private volatile StatefulRouteForServerDriver driver;

    private volatile boolean dead;

    LobbyPod(StatefulRouteForServerDriver driver, Supplier<StatefulRouteForServerDriver> newDriver) {
        this.index = driver.identity().podIndex();
        this.driver = driver;
        this.newDriver = newDriver;
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

    /** Players whose state this pod holds; a dead pod lost them all. */
    int players() {
        return this.dead ? 0 : this.driver.heldUsers().size();
    }

    boolean holds(String uid) {
        return this.driver.heldUsers().contains(uid);
    }

    /** The player arrived: this pod holds the player's state now, so it makes the link persistent. */
    void join(String uid) {
        this.driver.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
        this.driver.setLoadState(players());
    }

    /** The player left: the link goes, so the next visit may land on any pod. */
    void leave(String uid) {
        this.driver.removeLinkedPodWithId(uid, 0);
        this.driver.setLoadState(players());
    }

    /** Publishes the pod's state; a dead pod publishes nothing. */
    void heartbeat() {
        if (!this.dead) {
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

    /** Starts again as a new process would: no players, {@code READY}. */
    void restart() {
        requireSimulated();
        StatefulRouteForServerDriver fresh = this.newDriver.get();
        fresh.start();
        this.driver = fresh;
        this.dead = false;
    }

    private void requireSimulated() {
        if (!isSimulated()) {
            throw new UnsupportedOperationException("Only simulated pods can be killed or restarted; stop this process instead");
        }
    }

}
