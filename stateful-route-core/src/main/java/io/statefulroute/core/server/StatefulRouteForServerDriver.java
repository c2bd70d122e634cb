package io.statefulroute.core.server;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceView;

/**
 * The pod's side: publishes this pod's state (the heartbeat), drains on stop, and manages
 * links of users to this pod.
 *
 * <p>Something must call {@link #heartbeat()} on a period shorter than the pod state expiry
 * (the Spring Boot starter does, on its own scheduler). {@link #stopAsync()} switches to
 * {@code DENY_NEW_CALL} at once, keeps heartbeats going for the drain period so gateways see
 * the pod alive but draining, then publishes {@code SHUTDOWN}. Start and stop are idempotent.
 */
public final class StatefulRouteForServerDriver {

    private static final Logger logger = LoggerFactory.getLogger(StatefulRouteForServerDriver.class);

    private enum Phase { NEW, RUNNING, DRAINING, STOPPED }

    private final StatefulExecutor executor;

    private final ServerOptions options;

    private final PodIdentity identity;

    private final IntSupplier waitingTasks;

    private final AtomicReference<Phase> phase = new AtomicReference<>(Phase.NEW);

    private final Object publishLock = new Object();

    private volatile int loadState;

    private volatile RoutingState routingState = RoutingState.READY;

    private volatile String workload;

    private volatile HeartbeatStatus status = HeartbeatStatus.NONE;

    private volatile PodAddress address;

    private volatile CompletableFuture<Void> stopped;

    private final Set<String> heldUsers = ConcurrentHashMap.newKeySet();

    /**
     * @param waitingTasks how many tasks wait on this pod (e.g. an executor's queue size),
     * weighted into the load score by the cpu factor
     */
    public StatefulRouteForServerDriver(StatefulExecutor executor, ServerOptions options, IntSupplier waitingTasks) {
        this.executor = RouteArguments.requireNonNull("executor", executor);
        this.options = RouteArguments.requireNonNull("options", options);
        this.identity = options.identity();
        this.waitingTasks = RouteArguments.requireNonNull("waitingTasks", waitingTasks);
    }

    /** A driver whose load score is the load state alone (no waiting-tasks source). */
    public StatefulRouteForServerDriver(StatefulExecutor executor, ServerOptions options) {
        this(executor, options, () -> 0);
    }

    /** This pod. */
    public PodIdentity identity() {
        return this.identity;
    }

    // ---- life cycle

    /** Marks the pod running and publishes its first heartbeat. Idempotent. */
    public void start() {
        if (this.phase.compareAndSet(Phase.NEW, Phase.RUNNING)) {
            logger.info("Pod {} starts publishing its state as {}", this.identity, this.routingState);
            heartbeat();
        }
    }

    /** Whether the pod is started and not fully stopped (it still heartbeats while draining). */
    public boolean isRunning() {
        Phase current = this.phase.get();
        return current == Phase.RUNNING || current == Phase.DRAINING;
    }

    /**
     * Drains and stops: publishes {@code DENY_NEW_CALL} at once, keeps heartbeating (through
     * whoever calls {@link #heartbeat()}) for the drain period, then publishes
     * {@code SHUTDOWN}. Idempotent: every call returns the same future. Redis failures are
     * logged; the future completes after the drain period regardless.
     */
    public CompletableFuture<Void> stopAsync() {
        synchronized (this.phase) {
            if (this.stopped != null) {
                return this.stopped;
            }
            if (this.phase.get() == Phase.NEW) {
                this.phase.set(Phase.STOPPED);
                this.stopped = CompletableFuture.completedFuture(null);
                return this.stopped;
            }
            this.phase.set(Phase.DRAINING);
            this.routingState = RoutingState.DENY_NEW_CALL;
            logger.info("Pod {} drains for {} before shutting down", this.identity, this.options.drainPeriod());
            heartbeatAsync();
            long drainMillis = this.options.drainPeriod().toMillis();
            this.stopped = CompletableFuture
                .runAsync(() -> { }, CompletableFuture.delayedExecutor(drainMillis, TimeUnit.MILLISECONDS))
                .thenCompose((drained) -> {
                    synchronized (this.publishLock) {
                        this.routingState = RoutingState.SHUTDOWN;
                        this.phase.set(Phase.STOPPED);
                        return publish(RoutingState.SHUTDOWN);
                    }
                })
                .handle((done, ex) -> {
                    logger.info("Pod {} stopped{}", this.identity, (ex != null) ? " (last state not published: "
                            + ex.getMessage() + ")" : "");
                    return null;
                });
            return this.stopped;
        }
    }

    /** Blocking form of {@link #stopAsync()}: waits at most the drain period plus the command timeout. */
    public void stop() {
        stopAsync().join();
    }

    // ---- heartbeat

    /**
     * Publishes this pod's state now, in one round trip (pod 0 also publishes the workload
     * state). Does nothing before {@link #start()} or after the stop completed. Failures are
     * recorded in {@link #heartbeatStatus()} and logged, never thrown: a scheduler must keep
     * calling.
     * @return whether the state reached Redis
     */
    public boolean heartbeat() {
        try {
            // bounded: the executor fails the future after its command timeout
            heartbeatAsync().join();
            return true;
        }
        catch (CompletionException ex) {
            return false;
        }
    }

    /** Non-blocking form of {@link #heartbeat()}; the future fails when Redis does. */
    public CompletableFuture<Void> heartbeatAsync() {
        synchronized (this.publishLock) {
            Phase current = this.phase.get();
            if (current == Phase.NEW || current == Phase.STOPPED) {
                return CompletableFuture.completedFuture(null);
            }
            return publish(this.routingState);
        }
    }

    private CompletableFuture<Void> publish(RoutingState state) {
        String publishedWorkload = (this.identity.podIndex() == 0) ? this.workload : null;
        CompletableFuture<Void> sent;
        try {
            sent = this.executor.heartbeatAsync(this.identity.namespace(), this.identity.service(),
                    this.identity.podIndex(), state, loadScore(), publishedWorkload, this.address);
        }
        catch (RuntimeException ex) {
            // e.g. a waiting-tasks source that throws: a failed heartbeat, recorded like any other
            sent = CompletableFuture.failedFuture(ex);
        }
        return sent.whenComplete((done, ex) -> record(ex));
    }

    private void record(Throwable ex) {
        Instant now = Instant.now();
        if (ex == null) {
            if (this.status.consecutiveFailures() > 0) {
                logger.info("Pod {} heartbeats reach Redis again", this.identity);
            }
            this.status = this.status.succeeded(now);
        }
        else {
            Throwable cause = (ex instanceof CompletionException && ex.getCause() != null) ? ex.getCause() : ex;
            if (this.status.consecutiveFailures() == 0) {
                logger.warn("Pod {} heartbeat failed: {}", this.identity, cause.getMessage());
            }
            this.status = this.status.failed(now, String.valueOf(cause.getMessage()));
        }
    }

    /** Outcome of the recent heartbeats. */
    public HeartbeatStatus heartbeatStatus() {
        return this.status;
    }

    // ---- published state

    /** The weighted load: {@code cpuFactor * waitingTasks + (1 - cpuFactor) * loadState}. */
    public double loadScore() {
        double cpuFactor = this.options.cpuFactor();
        return cpuFactor * Math.max(0, this.waitingTasks.getAsInt()) + (1 - cpuFactor) * this.loadState;
    }

    /** Sets the application's load measure (e.g. users on this pod); published with the next heartbeat. */
    public void setLoadState(int loadState) {
        if (loadState < 0) {
            throw new InvalidRouteArgumentException("loadState", loadState + " must be >= 0");
        }
        this.loadState = loadState;
    }

    public int getLoadState() {
        return this.loadState;
    }

    /**
     * Sets what this pod accepts and publishes it at once (e.g. {@code DENY_NEW_CALL} to drain
     * by hand, {@code READY} to undrain). Ignored while the pod is stopping: it stays draining.
     * @return whether the state was taken
     */
    public boolean setRoutingState(RoutingState routingState) {
        RouteArguments.requireNonNull("routingState", routingState);
        synchronized (this.publishLock) {
            Phase current = this.phase.get();
            if (current == Phase.DRAINING || current == Phase.STOPPED) {
                logger.info("Pod {} is stopping; routing state {} ignored", this.identity, routingState);
                return false;
            }
            this.routingState = routingState;
        }
        heartbeatAsync();
        return true;
    }

    public RoutingState getRoutingState() {
        return this.routingState;
    }

    /**
     * Sets where this pod serves its users ({@code null}: nowhere a gateway can reach);
     * published with every heartbeat from the next one on. Gateways route only to pods that
     * advertise an address, so set it before {@link #start()} when the pod is a web server.
     */
    public void setAdvertisedAddress(PodAddress address) {
        this.address = address;
    }

    /** Where this pod advertises it serves its users, or null. */
    public PodAddress getAdvertisedAddress() {
        return this.address;
    }

    /**
     * Sets the service-wide workload state (at most {@link RouteArguments#MAX_WORKLOAD_LENGTH}
     * chars); published by pod 0's heartbeats only.
     */
    public void setWorkloadState(String workload) {
        this.workload = RouteArguments.requireWorkload("workload", workload);
    }

    public String getWorkloadState() {
        return this.workload;
    }

    // ---- links of users to this pod

    /**
     * Links the user to this pod, replacing any link; returns the previous pod. A persistent
     * link makes the user one of this pod's {@link #heldUsers()}.
     */
    public OptionalInt setLinkedPod(String uid, long persistSeconds) {
        OptionalInt previous = this.executor.setLinkedPod(this.identity.namespace(), uid, this.identity.service(),
                this.identity.podIndex(), persistSeconds);
        track(uid, persistSeconds == RouteArguments.PERSIST_FOREVER);
        return previous;
    }

    /** Links the user to this pod unless a persistent link holds the user on another pod. */
    public TrySetResult trySetLinkedPod(String uid, long persistSeconds) {
        TrySetResult result = this.executor.trySetLinkedPod(this.identity.namespace(), uid, this.identity.service(),
                this.identity.podIndex(), persistSeconds);
        if (result.success()) {
            track(uid, persistSeconds == RouteArguments.PERSIST_FOREVER);
        }
        return result;
    }

    /** Removes the user's link (or keeps it temporary for {@code graceSeconds}); returns the pod it pointed to. */
    public OptionalInt removeLinkedPod(String uid, long graceSeconds) {
        OptionalInt removed = this.executor.removeLinkedPod(this.identity.namespace(), uid, this.identity.service(),
                graceSeconds);
        this.heldUsers.remove(uid);
        return removed;
    }

    /** Removes the user's link only if it still points to this pod. */
    public boolean removeLinkedPodWithId(String uid, long graceSeconds) {
        boolean removed = this.executor.removeLinkedPodWithId(this.identity.namespace(), uid,
                this.identity.service(), this.identity.podIndex(), graceSeconds);
        this.heldUsers.remove(uid);
        return removed;
    }

    private void track(String uid, boolean persistent) {
        if (persistent) {
            this.heldUsers.add(uid);
        }
        else {
            this.heldUsers.remove(uid);
        }
    }

    /** Users this pod linked persistently through this driver and has not released or handed over. */
    public Set<String> heldUsers() {
        return Collections.unmodifiableSet(this.heldUsers);
    }

    // ---- handoff

    /**
     * Hands the user over to another pod: the link moves from this pod to {@code targetPodIndex}
     * (persistent there) only if it still points here; gateways drop their cached copy at once.
     * @return whether the user moved
     */
    public boolean handOff(String uid, int targetPodIndex) {
        boolean moved = this.executor.handOffLinkedPod(this.identity.namespace(), uid, this.identity.service(),
                this.identity.podIndex(), RouteArguments.requirePodIndex("targetPodIndex", targetPodIndex));
        this.heldUsers.remove(uid);
        return moved;
    }

    /**
     * Hands every held user over to the best routable pods other than this one, at most
     * {@code batchSize} at a time in flight. Run it while draining, before stopping.
     */
    public HandoffReport handOffAll(RouteInfoDriver routeInfo, int batchSize) {
        RouteArguments.requireNonNull("routeInfo", routeInfo);
        if (batchSize < 1) {
            throw new InvalidRouteArgumentException("batchSize", batchSize + " must be >= 1");
        }
        String namespace = this.identity.namespace();
        String service = this.identity.service();
        int moved = 0;
        int gone = 0;
        int failed = 0;
        List<String> users = new ArrayList<>(this.heldUsers);
        for (int from = 0; from < users.size(); from += batchSize) {
            List<String> batch = users.subList(from, Math.min(users.size(), from + batchSize));
            ServiceView view = this.executor.await(routeInfo.states().reloadAsync(namespace, service));
            List<CompletableFuture<Boolean>> handoffs = new ArrayList<>(batch.size());
            for (String uid : batch) {
                PodState target = otherRoutablePod(routeInfo, view);
                handoffs.add((target == null) ? CompletableFuture.failedFuture(new NoRoutablePodException(namespace, service))
                        : this.executor.handOffLinkedPodAsync(namespace, uid, service, this.identity.podIndex(),
                                target.podIndex()));
            }
            for (int i = 0; i < batch.size(); i++) {
                try {
                    if (handoffs.get(i).join()) {
                        moved++;
                    }
                    else {
                        gone++;
                    }
                    this.heldUsers.remove(batch.get(i));
                }
                catch (CompletionException ex) {
                    failed++;
                }
            }
        }
        logger.info("Pod {} handed over {} users ({} had left, {} failed)", this.identity, moved, gone, failed);
        return new HandoffReport(moved, gone, failed);
    }

    private PodState otherRoutablePod(RouteInfoDriver routeInfo, ServiceView view) {
        PodState pick = routeInfo.select(view);
        if (pick == null || pick.podIndex() != this.identity.podIndex()) {
            return pick;
        }
        return view.routablePods().stream().filter((pod) -> pod.podIndex() != this.identity.podIndex())
            .findFirst().orElse(null);
    }
}
