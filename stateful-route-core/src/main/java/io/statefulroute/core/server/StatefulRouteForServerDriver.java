package io.statefulroute.core.server;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.IntSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statefulroute.core.FencedWriteException;
import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.PodLeaseLapsedException;
import io.statefulroute.core.ReplicaAcknowledgementException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.LinkChangeListener;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.redis.WriteFence;
import io.statefulroute.core.state.LeaseTerms;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.PodPlacement;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceView;
import io.statefulroute.core.state.WarmUp;

/**
 * The pod's side: publishes this pod's state (the heartbeat), drains on stop, and manages
 * links of users to this pod.
 *
 * <p>Something must call {@link #heartbeat()} on a period shorter than the pod state expiry
 * (the Spring Boot starter does, on its own scheduler). {@link #stopAsync()} switches to
 * {@code DENY_NEW_CALL} at once, keeps heartbeats going for the drain period so gateways see
 * the pod alive but draining, then ends its lease and publishes {@code SHUTDOWN}. Start and
 * stop are idempotent.
 *
 * <p><b>Lease and fence.</b> The pod owns its users only while its lease ({@link PodLease}) is
 * live: from the moment a heartbeat that reached Redis was sent until the pod expiry minus the
 * lease margin later. Every write this driver makes carries a fence, the lease's end on Redis'
 * clock or the caller's deadline if sooner, and the script that writes refuses it when it lands
 * later ({@link PodLeaseLapsedException}, {@link FencedWriteException}): a write delayed in the
 * network or behind a paused process can never move a user that gateways gave to another pod
 * meanwhile. Gateways relink a pod's users only once Redis' clock is past its last heartbeat
 * plus the pod expiry plus the relink grace, settings the pod publishes with each heartbeat.
 * When the lease lapses the driver tells its {@link OwnershipListener}s at once, answers
 * {@link #owns} with false and refuses writes until a heartbeat succeeds again; its users are
 * confirmed or reported lost by reconciling with Redis once a gateway can no longer move them
 * on a view from before the renewal. {@code SHUTDOWN} (set, or at the end of a stop) ends the
 * lease; it is published only once no write sent before can still land, so that gateways may
 * move the pod's users at once.
 *
 * <p><b>Lost users, lost links.</b> When the lease lapses, when a notice (with
 * {@link #followLinkChanges()}) says another writer moved, shortened or removed the link of a
 * user it holds, after a resubscription, and when Redis may have lost writes (its identity
 * changed: a restart, a failover), the driver reads its users' links (pipelined, in batches).
 * A held user linked elsewhere is reported lost exactly once through
 * {@link OwnershipListener#usersLost}; a held user whose link is missing (Redis lost it) gets
 * it back, fenced, unless another pod was given the user meanwhile.
 */
public final class StatefulRouteForServerDriver {

    private static final Logger logger = LoggerFactory.getLogger(StatefulRouteForServerDriver.class);

    private enum Phase { NEW, RUNNING, DRAINING, STOPPED }

    private final StatefulExecutor executor;

    private final ServerOptions options;

    private final PodIdentity identity;

    private final IntSupplier waitingTasks;

    private final LeaseTerms leaseTerms;

    private final AtomicReference<Phase> phase = new AtomicReference<>(Phase.NEW);

    /**
     * Guards every change of phase and routing state, and each heartbeat's read of them, so a
     * concurrent {@link #setRoutingState} cannot make a stopping pod advertise {@code READY}.
     */
    private final Object publishLock = new Object();

    private volatile int loadState;

    private volatile RoutingState routingState = RoutingState.READY;

    /** When this pod last became routable (started, or back to READY), on {@link System#nanoTime()}. */
    private volatile long routableSinceNanos = System.nanoTime();

    /**
     * Whether a {@code SHUTDOWN} asked for may be published: only once no write sent before can
     * still land. Until then heartbeats say {@code DENY_NEW_CALL}.
     */
    private volatile boolean shutdownSettled;

    /** Counts routing state changes, so a settled shutdown does not undo a later change. */
    private long routingChanges;

    private volatile String workload;

    private volatile HeartbeatStatus status = HeartbeatStatus.NONE;

    private volatile PodAddress address;

    private volatile CompletableFuture<Void> stopped;

    private final PodLease lease;

    private final long confirmDelayNanos;

    private final HeldUsers held;

    /** The Redis data the links were last checked against (see {@link StatefulExecutor#redisIdentityAsync}). */
    private volatile String redisIdentity;

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
        this.leaseTerms = new LeaseTerms(options.podExpiry(), options.relinkGrace());
        Duration confirmDelay = options.relinkGrace().plus(options.leaseMargin());
        this.confirmDelayNanos = confirmDelay.toNanos();
        this.lease = new PodLease(this.identity, options.leaseDuration(), options.leaseMargin(), confirmDelay,
                executor.commandTimeout(), new LeaseEvents(), this::schedule);
        this.held = new HeldUsers(executor, this.identity, this.lease, this::schedule);
    }

    /** A driver whose load score is the load state alone (no waiting-tasks source). */
    public StatefulRouteForServerDriver(StatefulExecutor executor, ServerOptions options) {
        this(executor, options, () -> 0);
    }

    /** This pod. */
    public PodIdentity identity() {
        return this.identity;
    }

    /** How many users this pod takes, as it publishes with each heartbeat. */
    public PodCapacity capacity() {
        return this.options.capacity();
    }

    /** How this pod ramps up to its share of new users once routable, as it publishes with each heartbeat. */
    public WarmUp warmUp() {
        return this.options.warmUp();
    }

    // ---- life cycle

    /** Marks the pod running and publishes its first heartbeat. Idempotent. */
    public void start() {
        synchronized (this.publishLock) {
            if (!this.phase.compareAndSet(Phase.NEW, Phase.RUNNING)) {
                return;
            }
            this.routableSinceNanos = System.nanoTime();
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
     * whoever calls {@link #heartbeat()}) for the drain period, then ends the lease (writes are
     * refused from then on), waits until no write sent before can still land (at most the
     * command timeout plus the lease margin, and only while one is unanswered) and publishes
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
                this.lease.end();
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
                        this.phase.set(Phase.STOPPED);
                    }
                    endLease();
                    return this.lease.settled();
                })
                .thenCompose((settled) -> {
                    synchronized (this.publishLock) {
                        this.routingState = RoutingState.SHUTDOWN;
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

    /**
     * Blocking form of {@link #stopAsync()}: waits at most the drain period plus twice the
     * command timeout plus the lease margin.
     */
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
            return publish(publishedState());
        }
    }

    /** What heartbeats say: a SHUTDOWN asked for is said only once it is settled. */
    private RoutingState publishedState() {
        RoutingState state = this.routingState;
        return (state == RoutingState.SHUTDOWN && !this.shutdownSettled) ? RoutingState.DENY_NEW_CALL : state;
    }

    private CompletableFuture<Void> publish(RoutingState state) {
        String publishedWorkload = (this.identity.podIndex() == 0) ? this.workload : null;
        // the lease counts from before the send: Redis stamps the heartbeat no earlier
        long sentAtNanos = System.nanoTime();
        CompletableFuture<Long> sent;
        try {
            sent = this.executor.heartbeatAsync(this.identity.namespace(), this.identity.service(),
                    this.identity.podIndex(), state, loadScore(), publishedWorkload, this.address, this.leaseTerms,
                    placement(state));
        }
        catch (RuntimeException ex) {
            // e.g. a waiting-tasks source that throws: a failed heartbeat, recorded like any other
            sent = CompletableFuture.failedFuture(ex);
        }
        return sent.handle((stampedAt, ex) -> {
            record(ex);
            if (ex != null) {
                throw (ex instanceof CompletionException completion) ? completion : new CompletionException(ex);
            }
            if (state != RoutingState.SHUTDOWN) {
                this.lease.renew(sentAtNanos, stampedAt);
                checkRedisIdentity();
            }
            return null;
        });
    }

    /** The users this pod holds and takes; how long it has been routable, when that ramps its share. */
    private PodPlacement placement(RoutingState state) {
        long routableFor = (state.acceptsNewLinks() && this.options.warmUp().isEnabled())
                ? (System.nanoTime() - this.routableSinceNanos) / 1_000_000 : -1;
        return new PodPlacement(this.held.users().size(), this.options.capacity(), routableFor,
                this.options.warmUp());
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

    /**
     * Compares the Redis data with what the links were last checked against: when it changed
     * (a restart, a failover), Redis may have lost links of held users, so every one is checked
     * and the missing ones restored.
     */
    private void checkRedisIdentity() {
        this.executor.redisIdentityAsync().whenComplete((current, ex) -> {
            if (ex != null) {
                logger.debug("Pod {} could not read the Redis identity: {}", this.identity, ex.getMessage());
                return;
            }
            String before = this.redisIdentity;
            this.redisIdentity = current;
            if (before != null && !before.equals(current)) {
                logger.warn("Pod {}: Redis may have lost writes (was [{}], now [{}]); checking the links of its {} "
                        + "users and restoring missing ones", this.identity, before, current, this.held.users().size());
                this.held.reconcileAll();
            }
        });
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
     * by hand, {@code READY} to undrain). {@code SHUTDOWN} ends the lease at once (the pod owns
     * none of its users and refuses writes) and is published once no write sent before can
     * still land; leaving it lets the next heartbeat begin a new lease, after which the users
     * still linked here are confirmed. Ignored once {@link #stopAsync()} has begun: a stopping
     * pod stays draining whatever is set concurrently.
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
            RoutingState before = this.routingState;
            long change = ++this.routingChanges;
            this.routingState = routingState;
            if (routingState.acceptsNewLinks() && !before.acceptsNewLinks()) {
                this.routableSinceNanos = System.nanoTime();
            }
            if (routingState == RoutingState.SHUTDOWN && before != RoutingState.SHUTDOWN) {
                this.shutdownSettled = false;
                if (current == Phase.RUNNING) {
                    endLease();
                    this.lease.settled().thenRun(() -> publishSettledShutdown(change));
                }
            }
            else if (routingState != RoutingState.SHUTDOWN && before == RoutingState.SHUTDOWN) {
                this.lease.reopen();
            }
            if (current == Phase.RUNNING) {
                publish(publishedState());
            }
        }
        return true;
    }

    private void publishSettledShutdown(long change) {
        synchronized (this.publishLock) {
            if (this.routingChanges == change && this.phase.get() == Phase.RUNNING) {
                this.shutdownSettled = true;
                publish(RoutingState.SHUTDOWN);
            }
        }
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
     * @throws PodLeaseLapsedException when the pod's lease is not live, or had ended on Redis'
     * clock by the time the write landed (nothing was written)
     * @throws FencedWriteException when the write landed after its caller's deadline (nothing was written)
     * @throws ReplicaAcknowledgementException when fewer replicas than asked for confirmed the
     * write in time: it is in place, and the user is held
     */
    public OptionalInt setLinkedPod(String uid, long persistSeconds) {
        PodLease.Grant grant = this.lease.grant();
        long ticket = this.held.beginWrite(uid);
        try {
            OptionalInt previous;
            try {
                previous = write(grant, (fence) -> this.executor.setLinkedPodAsync(this.identity.namespace(), uid,
                        this.identity.service(), this.identity.podIndex(), persistSeconds, fence));
            }
            catch (ReplicaAcknowledgementException ex) {
                this.held.linked(uid, persistSeconds == RouteArguments.PERSIST_FOREVER, grant, ticket);
                throw ex;
            }
            this.held.linked(uid, persistSeconds == RouteArguments.PERSIST_FOREVER, grant, ticket);
            return previous;
        }
        finally {
            this.held.endWrite(uid);
        }
    }

    /**
     * Links the user to this pod unless a persistent link holds the user on another pod.
     * @throws PodLeaseLapsedException when the pod's lease is not live, or had ended on Redis'
     * clock by the time the write landed (nothing was written)
     * @throws FencedWriteException when the write landed after its caller's deadline (nothing was written)
     * @throws ReplicaAcknowledgementException when fewer replicas than asked for confirmed the
     * write in time: whatever it did is in place, and the user is held if it is linked here now
     */
    public TrySetResult trySetLinkedPod(String uid, long persistSeconds) {
        PodLease.Grant grant = this.lease.grant();
        long ticket = this.held.beginWrite(uid);
        try {
            TrySetResult result;
            try {
                result = write(grant, (fence) -> this.executor.trySetLinkedPodAsync(this.identity.namespace(),
                        uid, this.identity.service(), this.identity.podIndex(), persistSeconds, fence));
            }
            catch (ReplicaAcknowledgementException ex) {
                // whether it linked the user here: the write's own answer came with the failure
                if (this.executor.getLinkedPod(this.identity.namespace(), uid, this.identity.service())
                    .orElse(-1) == this.identity.podIndex()) {
                    this.held.linked(uid, persistSeconds == RouteArguments.PERSIST_FOREVER, grant, ticket);
                }
                throw ex;
            }
            if (result.success()) {
                this.held.linked(uid, persistSeconds == RouteArguments.PERSIST_FOREVER, grant, ticket);
            }
            return result;
        }
        finally {
            this.held.endWrite(uid);
        }
    }

    /**
     * Removes the user's link if it still points to this pod (or keeps it temporary for
     * {@code graceSeconds}), and lets the user go: a pod never removes another pod's link.
     * @return this pod if the link was removed, empty if the user was not linked here
     * @throws PodLeaseLapsedException when the pod's lease is not live (nothing was written)
     */
    public OptionalInt removeLinkedPod(String uid, long graceSeconds) {
        return removeLinkedPodWithId(uid, graceSeconds) ? OptionalInt.of(this.identity.podIndex()) : OptionalInt.empty();
    }

    /**
     * Removes the user's link only if it still points to this pod, and lets the user go.
     * @throws PodLeaseLapsedException when the pod's lease is not live (nothing was written)
     */
    public boolean removeLinkedPodWithId(String uid, long graceSeconds) {
        return releasing(uid, (fence) -> this.executor.removeLinkedPodWithIdAsync(this.identity.namespace(), uid,
                this.identity.service(), this.identity.podIndex(), graceSeconds, fence));
    }

    /** Sends a write under the grant and waits for it (see {@link PodLease#send}). */
    private <T> T write(PodLease.Grant grant, Function<WriteFence, CompletableFuture<T>> call) {
        return this.executor.await(this.lease.send(grant, call));
    }

    /**
     * Runs this pod's own write that lets a user go (a removal or a hand-off), then releases
     * the user. The write's notice can come back before the release: while the write is under
     * way, a reconciliation that finds the user linked elsewhere or nowhere neither counts it
     * as lost nor restores it; if the write fails, the user stays held.
     */
    private boolean releasing(String uid, Function<WriteFence, CompletableFuture<Boolean>> call) {
        PodLease.Grant grant = this.lease.grant();
        this.held.beginRelease(uid);
        try {
            boolean done = write(grant, call);
            this.held.release(uid);
            return done;
        }
        catch (ReplicaAcknowledgementException ex) {
            // applied on the primary: the pod lets the user go as it asked
            this.held.release(uid);
            throw ex;
        }
        finally {
            this.held.endRelease(uid);
        }
    }

    /** Users this pod linked persistently through this driver and has not released, handed over or lost. */
    public Set<String> heldUsers() {
        return this.held.users();
    }

    // ---- lease and ownership

    /**
     * Whether this pod owns its users now: a heartbeat sent less than the pod expiry minus
     * the lease margin ago reached Redis, and the pod has not shut down or stopped. Noticing a
     * lapse here reports it at once. Cheap: reads the monotonic clock.
     */
    public boolean isLeaseLive() {
        return this.lease.isLive();
    }

    /**
     * Whether this pod owns the user, from its reconciled view: the lease is live, the pod
     * holds the user, no lapse since the user was linked left its ownership unconfirmed, and
     * the pod is not handing the user off or removing its link (false from the moment such a
     * write begins: the new pod may take the user as soon as it lands). No Redis call; see
     * {@link #checkOwnershipAsync} for an authoritative answer.
     */
    public boolean owns(String uid) {
        return this.held.owns(uid);
    }

    /**
     * Authoritative form of {@link #owns}: also reads the user's link from Redis (one round
     * trip). A held user found linked elsewhere is reported lost like any other.
     */
    public CompletableFuture<Boolean> checkOwnershipAsync(String uid) {
        RouteArguments.requireId("uid", uid);
        return this.held.check(uid);
    }

    /** Blocking form of {@link #checkOwnershipAsync}. */
    public boolean checkOwnership(String uid) {
        return this.executor.await(checkOwnershipAsync(uid));
    }

    /** The lease and what lapses cost so far. */
    public LeaseStatus leaseStatus() {
        return new LeaseStatus(isLeaseLive(), this.lease.lapses(), this.lease.lastLapse(), this.held.lostCount(),
                this.held.unconfirmedCount(), this.held.restoredCount());
    }

    /** Registers a listener for lease lapses, renewals and lost users. */
    public void addOwnershipListener(OwnershipListener listener) {
        this.held.addListener(RouteArguments.requireNonNull("listener", listener));
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
                if (service.equals(changedService) && namespace.equals(changedNamespace)) {
                    held.noticed(uid);
                }
            }

            @Override
            public void probeReceived(String token) {
            }

            @Override
            public void subscribed() {
                held.reconcileAll();
            }
        });
    }

    /** What the lease tells this driver. */
    private final class LeaseEvents implements PodLease.Events {

        @Override
        public void started(long epoch, boolean afterLapse) {
            held.leaseStarted(epoch, afterLapse, confirmDelayNanos);
        }

        @Override
        public void lapsed(Duration sinceLastSuccess) {
            held.lapsed(sinceLastSuccess);
        }
    }

    /** Ends the lease (SHUTDOWN, stop): every held user is unconfirmed until a new lease confirms it. */
    private void endLease() {
        if (this.lease.end()) {
            this.held.ended();
        }
    }

    private boolean schedule(Runnable task, long delayNanos) {
        ScheduledExecutorService thread = this.leaseThread;
        if (thread == null || thread.isShutdown()) {
            return false;
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
            return true;
        }
        catch (RejectedExecutionException ex) {
            // stopping: nothing is owned any more
            return false;
        }
    }

    private void stopLease() {
        this.lease.end();
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
     * @throws PodLeaseLapsedException when the pod's lease is not live (nothing was written)
     */
    public boolean handOff(String uid, int targetPodIndex) {
        RouteArguments.requirePodIndex("targetPodIndex", targetPodIndex);
        return releasing(uid, (fence) -> this.executor.handOffLinkedPodAsync(this.identity.namespace(), uid,
                this.identity.service(), this.identity.podIndex(), targetPodIndex, fence));
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
        List<String> users = new ArrayList<>(this.held.users());
        for (int from = 0; from < users.size(); from += batchSize) {
            List<String> batch = users.subList(from, Math.min(users.size(), from + batchSize));
            ServiceView view = this.executor.await(routeInfo.states().reloadAsync(namespace, service));
            List<CompletableFuture<Boolean>> handoffs = new ArrayList<>(batch.size());
            for (String uid : batch) {
                PodState target = otherRoutablePod(routeInfo, view);
                this.held.beginRelease(uid);
                handoffs.add((target == null) ? CompletableFuture.failedFuture(routeInfo.noPodFor(view))
                        : handOffAsync(uid, target.podIndex()));
            }
            for (int i = 0; i < batch.size(); i++) {
                try {
                    if (handoffs.get(i).join()) {
                        moved++;
                    }
                    else {
                        gone++;
                    }
                    this.held.release(batch.get(i));
                }
                catch (CompletionException ex) {
                    failed++;
                }
                finally {
                    this.held.endRelease(batch.get(i));
                }
            }
        }
        logger.info("Pod {} handed over {} users ({} had left, {} failed)", this.identity, moved, gone, failed);
        return new HandoffReport(moved, gone, failed);
    }

    private CompletableFuture<Boolean> handOffAsync(String uid, int targetPodIndex) {
        PodLease.Grant grant;
        try {
            grant = this.lease.grant();
        }
        catch (PodLeaseLapsedException ex) {
            return CompletableFuture.failedFuture(ex);
        }
        return this.lease.send(grant, (fence) -> this.executor.handOffLinkedPodAsync(this.identity.namespace(), uid,
                this.identity.service(), this.identity.podIndex(), targetPodIndex, fence));
    }

    private PodState otherRoutablePod(RouteInfoDriver routeInfo, ServiceView view) {
        PodState pick = routeInfo.select(view);
        if (pick == null || pick.podIndex() != this.identity.podIndex()) {
            return pick;
        }
        return view.routablePods().stream()
            .filter((pod) -> pod.podIndex() != this.identity.podIndex() && view.hasRoom(pod))
            .findFirst().orElse(null);
    }
}
