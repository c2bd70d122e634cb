package io.statefulroute.core.server;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.PodLeaseLapsedException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.LinkChangeListener;
import io.statefulroute.core.link.LinkInfo;
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
 *
 * <p><b>Lease.</b> The pod owns its users only while its lease is live: from the moment a
 * heartbeat that reached Redis was sent until the pod expiry minus the lease margin later, on
 * this pod's monotonic clock. Redis stamps the heartbeat no earlier than it was sent, and
 * gateways relink a pod's users only once Redis' clock is past that stamp plus the pod expiry
 * plus the relink grace, so the pod always knows it lost its users before anyone may take
 * them. When the lease lapses the driver tells its {@link OwnershipListener}s at once, answers
 * {@link #owns} with false, and refuses new users ({@link PodLeaseLapsedException}) until a
 * heartbeat succeeds again. Its users from before the lapse are confirmed or reported lost by
 * reconciling with Redis once the relink grace has passed after that heartbeat.
 *
 * <p><b>Lost users.</b> When the lease lapses, or (with {@link #followLinkChanges()}) a notice
 * says another writer moved, shortened or removed the link of a user it holds, the driver
 * reads those users' links from Redis (pipelined, in batches) and reports each user no longer
 * linked here exactly once through {@link OwnershipListener#usersLost}.
 */
public final class StatefulRouteForServerDriver {

    private static final Logger logger = LoggerFactory.getLogger(StatefulRouteForServerDriver.class);

    /** Users checked per pipelined batch when reconciling. */
    private static final int RECONCILE_BATCH = 500;

    private enum Phase { NEW, RUNNING, DRAINING, STOPPED }

    private final StatefulExecutor executor;

    private final ServerOptions options;

    private final PodIdentity identity;

    private final IntSupplier waitingTasks;

    private final AtomicReference<Phase> phase = new AtomicReference<>(Phase.NEW);

    /**
     * Guards every change of phase and routing state, and each heartbeat's read of them, so a
     * concurrent {@link #setRoutingState} cannot make a stopping pod advertise {@code READY}.
     */
    private final Object publishLock = new Object();

    private volatile int loadState;

    private volatile RoutingState routingState = RoutingState.READY;

    private volatile String workload;

    private volatile HeartbeatStatus status = HeartbeatStatus.NONE;

    private volatile PodAddress address;

    private volatile CompletableFuture<Void> stopped;

    /** Users held through this driver, each with the generation of its last write, so a reconcile never drops a newer write. */
    private final ConcurrentHashMap<String, Long> heldUsers = new ConcurrentHashMap<>();

    private final AtomicLong generations = new AtomicLong();

    /**
     * Held users a gateway may still move on a view from before the lease started: those from
     * before a lapse and those linked within the relink grace after the lease (re)started.
     * Owned only once a reconcile confirms them.
     */
    private final Set<String> unconfirmed = ConcurrentHashMap.newKeySet();

    /** Whether the lease (re)started less than the relink grace ago, so new links are unconfirmed too. */
    private volatile boolean confirming;

    private final List<OwnershipListener> ownershipListeners = new CopyOnWriteArrayList<>();

    private final long leaseNanos;

    private final long confirmDelayNanos;

    private final Object leaseLock = new Object();

    private enum Lease { NONE, LIVE, LAPSED }

    private volatile Lease lease = Lease.NONE;

    /** When the lease ends on System.nanoTime(); meaningful while {@link #lease} is LIVE. */
    private volatile long leaseEndsAtNanos;

    /** Bumped at every lapse, so a confirmation scheduled before a lapse does nothing after it. */
    private long lapseEpoch;

    private final AtomicLong lapses = new AtomicLong();

    private volatile Instant lastLapse;

    private final AtomicLong usersLost = new AtomicLong();

    /** Held users named by link change notices, reconciled in one batch. */
    private final Set<String> noticed = ConcurrentHashMap.newKeySet();

    /** Users this pod is letting go of itself right now, with how many such writes are under way. */
    private final ConcurrentHashMap<String, Integer> releasingUsers = new ConcurrentHashMap<>();

    /** Runs lapse checks, reconciles and listener calls, one at a time; created by start(). */
    private volatile ScheduledExecutorService leaseThread;

    private AutoCloseable linkChanges;

    /**
     * @param waitingTasks how many tasks wait on this pod (e.g. an executor's queue size),
     * weighted into the load score by the cpu factor
     */
    public StatefulRouteForServerDriver(StatefulExecutor executor, ServerOptions options, IntSupplier waitingTasks) {
        this.executor = RouteArguments.requireNonNull("executor", executor);
        this.options = RouteArguments.requireNonNull("options", options);
        this.identity = options.identity();
        this.waitingTasks = RouteArguments.requireNonNull("waitingTasks", waitingTasks);
        this.leaseNanos = options.leaseDuration().toNanos();
        this.confirmDelayNanos = options.relinkGrace().plus(options.leaseMargin()).toNanos();
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
        synchronized (this.publishLock) {
            if (!this.phase.compareAndSet(Phase.NEW, Phase.RUNNING)) {
                return;
            }
            this.leaseThread = Executors.newSingleThreadScheduledExecutor((task) -> {
                Thread thread = new Thread(task, "stateful-route-lease-" + this.identity);
                thread.setDaemon(true);
                return thread;
            });
            logger.info("Pod {} starts publishing its state as {}", this.identity, this.routingState);
        }
        heartbeat();
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
        synchronized (this.publishLock) {
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
            // under the lock: no heartbeat of the state before the drain can be sent after this one
            publish(RoutingState.DENY_NEW_CALL);
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
                    stopLease();
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
        isLeaseLive();
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
        // the lease counts from before the send: Redis stamps the heartbeat no earlier
        long sentAtNanos = System.nanoTime();
        CompletableFuture<Void> sent;
        try {
            sent = this.executor.heartbeatAsync(this.identity.namespace(), this.identity.service(),
                    this.identity.podIndex(), state, loadScore(), publishedWorkload, this.address);
        }
        catch (RuntimeException ex) {
            // e.g. a waiting-tasks source that throws: a failed heartbeat, recorded like any other
            sent = CompletableFuture.failedFuture(ex);
        }
        return sent.whenComplete((done, ex) -> {
            record(ex);
            if (ex == null && state != RoutingState.SHUTDOWN) {
                renewLease(sentAtNanos);
            }
        });
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
     * by hand, {@code READY} to undrain). Ignored once {@link #stopAsync()} has begun: a
     * stopping pod stays draining whatever is set concurrently.
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
            if (current == Phase.RUNNING) {
                publish(routingState);
            }
        }
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
     * @throws PodLeaseLapsedException when the pod's lease lapsed and no heartbeat renewed it yet
     */
    public OptionalInt setLinkedPod(String uid, long persistSeconds) {
        requireLease();
        OptionalInt previous = this.executor.setLinkedPod(this.identity.namespace(), uid, this.identity.service(),
                this.identity.podIndex(), persistSeconds);
        track(uid, persistSeconds == RouteArguments.PERSIST_FOREVER);
        return previous;
    }

    /**
     * Links the user to this pod unless a persistent link holds the user on another pod.
     * @throws PodLeaseLapsedException when the pod's lease lapsed and no heartbeat renewed it yet
     */
    public TrySetResult trySetLinkedPod(String uid, long persistSeconds) {
        requireLease();
        TrySetResult result = this.executor.trySetLinkedPod(this.identity.namespace(), uid, this.identity.service(),
                this.identity.podIndex(), persistSeconds);
        if (result.success()) {
            track(uid, persistSeconds == RouteArguments.PERSIST_FOREVER);
        }
        return result;
    }

    /** Removes the user's link (or keeps it temporary for {@code graceSeconds}); returns the pod it pointed to. */
    public OptionalInt removeLinkedPod(String uid, long graceSeconds) {
        return releasing(uid, () -> this.executor.removeLinkedPod(this.identity.namespace(), uid,
                this.identity.service(), graceSeconds));
    }

    /** Removes the user's link only if it still points to this pod. */
    public boolean removeLinkedPodWithId(String uid, long graceSeconds) {
        return releasing(uid, () -> this.executor.removeLinkedPodWithId(this.identity.namespace(), uid,
                this.identity.service(), this.identity.podIndex(), graceSeconds));
    }

    /**
     * Runs this pod's own write that lets a user go (a removal or a hand-off), then releases
     * the user. The write's notice can come back before the release: while the write is under
     * way, a reconciliation that finds the user linked elsewhere or nowhere does not count it
     * as lost; if the write fails, the user stays held.
     */
    private <T> T releasing(String uid, Supplier<T> write) {
        beginRelease(uid);
        try {
            T result = write.get();
            release(uid);
            return result;
        }
        finally {
            endRelease(uid);
        }
    }

    private void beginRelease(String uid) {
        this.releasingUsers.merge(uid, 1, Integer::sum);
    }

    private void endRelease(String uid) {
        this.releasingUsers.computeIfPresent(uid, (key, writes) -> (writes == 1) ? null : writes - 1);
    }

    private void track(String uid, boolean persistent) {
        if (persistent) {
            this.heldUsers.put(uid, this.generations.incrementAndGet());
            if (this.confirming) {
                this.unconfirmed.add(uid);
            }
            else {
                this.unconfirmed.remove(uid);
            }
        }
        else {
            release(uid);
        }
    }

    private void release(String uid) {
        this.heldUsers.remove(uid);
        this.unconfirmed.remove(uid);
    }

    /** Users this pod linked persistently through this driver and has not released, handed over or lost. */
    public Set<String> heldUsers() {
        return Collections.unmodifiableSet(this.heldUsers.keySet());
    }

    // ---- lease and ownership

    /**
     * Whether this pod owns its users now: a heartbeat sent less than the pod expiry minus
     * the lease margin ago reached Redis, and the pod is not stopped. Noticing a lapse here
     * reports it at once. Cheap: reads the monotonic clock.
     */
    public boolean isLeaseLive() {
        if (this.lease != Lease.LIVE) {
            return false;
        }
        long now = System.nanoTime();
        if (now - this.leaseEndsAtNanos < 0) {
            return true;
        }
        lapse(now);
        return false;
    }

    /**
     * Whether this pod owns the user, from its reconciled view: the lease is live, the pod
     * holds the user, and no lapse since the user was linked left its ownership unconfirmed.
     * No Redis call; see {@link #checkOwnershipAsync} for an authoritative answer.
     */
    public boolean owns(String uid) {
        return isLeaseLive() && this.heldUsers.containsKey(uid) && !this.unconfirmed.contains(uid);
    }

    /**
     * Authoritative form of {@link #owns}: also reads the user's link from Redis (one round
     * trip). A held user found linked elsewhere is reported lost like any other.
     */
    public CompletableFuture<Boolean> checkOwnershipAsync(String uid) {
        RouteArguments.requireId("uid", uid);
        if (!owns(uid)) {
            return CompletableFuture.completedFuture(false);
        }
        Long generation = this.heldUsers.get(uid);
        return this.executor.getLinkAsync(this.identity.namespace(), uid, this.identity.service()).thenApply((link) -> {
            if (link.map(LinkInfo::podIndex).orElse(-1) != this.identity.podIndex()) {
                Set<String> lost = new LinkedHashSet<>();
                if (generation != null && this.heldUsers.remove(uid, generation)) {
                    this.unconfirmed.remove(uid);
                    lost.add(uid);
                }
                reportLost(lost, LossReason.LINK_CHANGED);
                return false;
            }
            return owns(uid);
        });
    }

    /** Blocking form of {@link #checkOwnershipAsync}. */
    public boolean checkOwnership(String uid) {
        return this.executor.await(checkOwnershipAsync(uid));
    }

    /** The lease and what lapses cost so far. */
    public LeaseStatus leaseStatus() {
        return new LeaseStatus(isLeaseLive(), this.lapses.get(), this.lastLapse, this.usersLost.get(),
                this.unconfirmed.size());
    }

    /** Registers a listener for lease lapses, renewals and lost users. */
    public void addOwnershipListener(OwnershipListener listener) {
        this.ownershipListeners.add(RouteArguments.requireNonNull("listener", listener));
    }

    /**
     * Follows link change notices (needs an executor with a pub/sub connection): a notice
     * naming a held user makes the driver reconcile it with Redis, so a user moved or removed
     * by another writer is reported lost within the notice latency. After a resubscription
     * (notices may have been lost) every held user is reconciled. Idempotent; stopped by stop.
     */
    public synchronized void followLinkChanges() {
        if (this.linkChanges != null) {
            return;
        }
        String namespace = this.identity.namespace();
        String service = this.identity.service();
        this.linkChanges = this.executor.subscribeLinkChanges(new LinkChangeListener() {
            @Override
            public void linkChanged(String changedNamespace, String uid, String changedService) {
                if (service.equals(changedService) && namespace.equals(changedNamespace)
                        && heldUsers.containsKey(uid)) {
                    noticed.add(uid);
                    // one task per notice; a task finding the set drained by an earlier one does nothing
                    onLeaseThread(StatefulRouteForServerDriver.this::reconcileNoticed);
                }
            }

            @Override
            public void probeReceived(String token) {
            }

            @Override
            public void subscribed() {
                onLeaseThread(() -> reconcile(List.copyOf(heldUsers.keySet()), LossReason.LINK_CHANGED));
            }
        });
    }

    /** A started pod writes links only under a live lease; a driver never started is a plain link writer. */
    private void requireLease() {
        Phase current = this.phase.get();
        if ((current == Phase.RUNNING || current == Phase.DRAINING) && !isLeaseLive()) {
            throw new PodLeaseLapsedException(this.identity);
        }
    }

    private void renewLease(long sentAtNanos) {
        long endsAt = sentAtNanos + this.leaseNanos;
        boolean started;
        boolean renewed;
        long epoch;
        synchronized (this.leaseLock) {
            Phase current = this.phase.get();
            if (current != Phase.RUNNING && current != Phase.DRAINING) {
                return;
            }
            if (this.lease == Lease.LIVE && endsAt - this.leaseEndsAtNanos <= 0) {
                return;
            }
            if (endsAt - System.nanoTime() <= 0) {
                // the round trip outlasted the lease: this heartbeat renews nothing
                return;
            }
            started = this.lease != Lease.LIVE;
            renewed = this.lease == Lease.LAPSED;
            this.leaseEndsAtNanos = endsAt;
            this.lease = Lease.LIVE;
            if (started) {
                this.confirming = true;
            }
            epoch = this.lapseEpoch;
        }
        long checkIn = Math.max(0, endsAt - System.nanoTime());
        schedule(this::isLeaseLive, checkIn);
        if (started) {
            // a gateway whose view predates this heartbeat may still judge the pod dead and move
            // its users until the relink grace has passed: confirm ownership only after it
            schedule(() -> confirm(epoch), this.confirmDelayNanos);
        }
        if (renewed) {
            logger.info("Pod {} renewed its lease: it takes new users again; {} users from before the lapse are "
                    + "confirmed after the relink grace", this.identity, this.unconfirmed.size());
            onLeaseThread(() -> this.ownershipListeners.forEach((l) -> l.leaseRenewed(this.identity)));
        }
    }

    private void lapse(long nowNanos) {
        synchronized (this.leaseLock) {
            if (this.lease != Lease.LIVE || nowNanos - this.leaseEndsAtNanos < 0) {
                return;
            }
            this.lease = Lease.LAPSED;
            this.confirming = false;
            this.lapseEpoch++;
            this.unconfirmed.addAll(this.heldUsers.keySet());
        }
        this.lapses.incrementAndGet();
        this.lastLapse = Instant.now();
        Duration since = Duration.ofNanos(nowNanos - this.leaseEndsAtNanos + this.leaseNanos);
        logger.warn("Pod {} lost its lease ({} since the last heartbeat that reached Redis was sent): it owns none "
                + "of its {} users and takes no new ones until a heartbeat succeeds", this.identity, since,
                this.heldUsers.size());
        onLeaseThread(() -> {
            this.ownershipListeners.forEach((l) -> l.leaseLapsed(this.identity, since));
            reconcile(List.copyOf(this.heldUsers.keySet()), LossReason.LEASE_LAPSED);
        });
    }

    /**
     * Once the relink grace has passed after the renewal, no gateway can still move a user on
     * a view from before it: users still linked here are owned again, the others are lost.
     */
    private void confirm(long epoch) {
        synchronized (this.leaseLock) {
            if (this.lease != Lease.LIVE || this.lapseEpoch != epoch) {
                return;
            }
            this.confirming = false;
        }
        List<String> users = List.copyOf(this.unconfirmed);
        reconcile(users, LossReason.LEASE_LAPSED).whenComplete((linked, ex) -> {
            if (ex != null) {
                logger.warn("Pod {} could not confirm {} users after its lease lapsed, retrying: {}", this.identity,
                        users.size(), ex.getMessage());
                schedule(() -> confirm(epoch), this.confirmDelayNanos);
                return;
            }
            synchronized (this.leaseLock) {
                if (this.lease == Lease.LIVE && this.lapseEpoch == epoch) {
                    this.unconfirmed.removeAll(linked);
                }
            }
        });
    }

    private void reconcileNoticed() {
        if (this.noticed.isEmpty()) {
            return;
        }
        List<String> users = List.copyOf(this.noticed);
        this.noticed.removeAll(users);
        reconcile(users, LossReason.LINK_CHANGED);
    }

    /**
     * Reads the users' links (pipelined batches of GETs, each routed to its slot's node on a
     * cluster; no scan), reports the held ones no longer linked here as lost, and completes
     * with those still linked here.
     */
    private CompletableFuture<Set<String>> reconcile(Collection<String> uids, LossReason reason) {
        Map<String, Long> generationsRead = new HashMap<>();
        for (String uid : uids) {
            Long generation = this.heldUsers.get(uid);
            if (generation != null) {
                generationsRead.put(uid, generation);
            }
        }
        List<String> users = List.copyOf(generationsRead.keySet());
        List<CompletableFuture<Map<Integer, List<String>>>> batches = new ArrayList<>();
        for (int from = 0; from < users.size(); from += RECONCILE_BATCH) {
            batches.add(this.executor.batchGetLinkedPodAsync(this.identity.namespace(),
                    users.subList(from, Math.min(users.size(), from + RECONCILE_BATCH)), this.identity.service()));
        }
        CompletableFuture<Set<String>> result = CompletableFuture.allOf(batches.toArray(CompletableFuture[]::new))
            .thenApply((done) -> {
                Set<String> linked = new LinkedHashSet<>();
                for (CompletableFuture<Map<Integer, List<String>>> batch : batches) {
                    linked.addAll(batch.join().getOrDefault(this.identity.podIndex(), List.of()));
                }
                Set<String> lost = new LinkedHashSet<>();
                for (String uid : users) {
                    // a write since the read (generation changed) is newer than what was read
                    if (!linked.contains(uid) && !this.releasingUsers.containsKey(uid)
                            && this.heldUsers.remove(uid, generationsRead.get(uid))) {
                        this.unconfirmed.remove(uid);
                        lost.add(uid);
                    }
                }
                reportLost(lost, reason);
                return linked;
            });
        result.exceptionally((ex) -> {
            logger.debug("Pod {} could not reconcile {} users: {}", this.identity, users.size(), ex.getMessage());
            return null;
        });
        return result;
    }

    private void reportLost(Set<String> lost, LossReason reason) {
        if (lost.isEmpty()) {
            return;
        }
        this.usersLost.addAndGet(lost.size());
        logger.warn("Pod {} lost {} users ({}), now linked elsewhere or released", this.identity, lost.size(), reason);
        Set<String> reported = Collections.unmodifiableSet(lost);
        onLeaseThread(() -> this.ownershipListeners.forEach((l) -> l.usersLost(this.identity, reported, reason)));
    }

    private void onLeaseThread(Runnable task) {
        schedule(task, 0);
    }

    private void schedule(Runnable task, long delayNanos) {
        ScheduledExecutorService thread = this.leaseThread;
        if (thread == null || thread.isShutdown()) {
            return;
        }
        try {
            thread.schedule(() -> {
                try {
                    task.run();
                }
                catch (RuntimeException ex) {
                    logger.warn("Pod {} ownership task failed", this.identity, ex);
                }
            }, delayNanos, TimeUnit.NANOSECONDS);
        }
        catch (RejectedExecutionException ex) {
            // stopping: nothing is owned any more
        }
    }

    private void stopLease() {
        synchronized (this.leaseLock) {
            this.lease = Lease.NONE;
        }
        synchronized (this) {
            if (this.linkChanges != null) {
                try {
                    this.linkChanges.close();
                }
                catch (Exception ex) {
                    logger.debug("Closing the link change subscription failed", ex);
                }
                this.linkChanges = null;
            }
        }
        ScheduledExecutorService thread = this.leaseThread;
        if (thread != null) {
            thread.shutdown();
        }
    }

    // ---- handoff

    /**
     * Hands the user over to another pod: the link moves from this pod to {@code targetPodIndex}
     * (persistent there) only if it still points here; gateways drop their cached copy at once.
     * @return whether the user moved
     */
    public boolean handOff(String uid, int targetPodIndex) {
        RouteArguments.requirePodIndex("targetPodIndex", targetPodIndex);
        return releasing(uid, () -> this.executor.handOffLinkedPod(this.identity.namespace(), uid,
                this.identity.service(), this.identity.podIndex(), targetPodIndex));
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
        List<String> users = new ArrayList<>(this.heldUsers.keySet());
        for (int from = 0; from < users.size(); from += batchSize) {
            List<String> batch = users.subList(from, Math.min(users.size(), from + batchSize));
            ServiceView view = this.executor.await(routeInfo.states().reloadAsync(namespace, service));
            List<CompletableFuture<Boolean>> handoffs = new ArrayList<>(batch.size());
            for (String uid : batch) {
                PodState target = otherRoutablePod(routeInfo, view);
                beginRelease(uid);
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
                    release(batch.get(i));
                }
                catch (CompletionException ex) {
                    failed++;
                }
                finally {
                    endRelease(batch.get(i));
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
