package io.statefulroute.core.server;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import io.statefulroute.core.FencedWriteException;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.PodLeaseLapsedException;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.UserTakenException;
import io.statefulroute.core.redis.WriteFence;

/**
 * This pod's lease, the clock it is judged by, and the fence every write of the pod carries.
 *
 * <p>A heartbeat that reached Redis gives the pod a lease from the moment it was sent until
 * {@code podExpiry - leaseMargin} later, on this pod's monotonic clock; gateways move the pod's
 * users only once Redis' clock is past that heartbeat's stamp plus the pod expiry plus the
 * relink grace. On Redis' clock the lease ends at the stamp plus {@code podExpiry - leaseMargin},
 * and each write is {@linkplain #grant() granted} a {@link WriteFence} at that moment, or at its
 * caller's deadline (now, as estimated from the stamp, plus the command timeout) if sooner:
 * Redis refuses the write if it lands later, whatever delayed it, and refuses it too if another
 * pod was given the user after the grant (its estimate of Redis' clock now). So the pod's own
 * check is a courtesy; the one that counts runs where the write lands.
 *
 * <p>A lease lapses when no heartbeat renewed it in time, and ends when the pod shuts down or
 * stops ({@link #end()}); either bumps the {@linkplain Grant#epoch() epoch}, so a write that
 * completes afterwards is known to have been granted under an earlier lease. After an end,
 * {@link #settled()} completes once no write granted before can still land.
 *
 * <p>Clock assumptions: the pod's monotonic clock may run slow by at most the lease margin over
 * one pod expiry; the clock of the Redis server that holds a link may be behind the one that
 * stamped the heartbeat by less than the relink grace plus the lease margin (a server ahead only
 * refuses writes sooner). A monotonic clock that stops while the machine is suspended is not
 * covered on the pod's side, but the fence still is: Redis refuses what lands after the lease.
 */
final class PodLease {

    /** Where the lease stands. */
    enum State {

        /** No heartbeat has reached Redis yet (or since the lease was reopened after an end). */
        NONE,

        LIVE,

        /** No heartbeat renewed it in time. */
        LAPSED,

        /** The pod shut down or stopped: no heartbeat renews it until it is reopened. */
        ENDED
    }

    /** What the lease tells its pod; called on whichever thread noticed, outside the lease's lock. */
    interface Events {

        /** A lease began: the first, or one after a lapse or an end ({@code afterLapse}). */
        void started(long epoch, boolean afterLapse);

        /** The lease lapsed; {@code sinceLastSuccess} is the time since the heartbeat it came from was sent. */
        void lapsed(Duration sinceLastSuccess);
    }

    /** Runs a task after a delay, on the pod's own thread. */
    interface Timer {

        /** @return whether the task will run: not before the pod starts, nor once it stopped */
        boolean schedule(Runnable task, long delayNanos);
    }

    private final PodIdentity identity;

    private final long leaseNanos;

    private final long leaseMillis;

    private final long confirmNanos;

    private final long timeoutMillis;

    private final long marginMillis;

    private final Events events;

    private final Timer timer;

    private final Object lock = new Object();

    private volatile State state = State.NONE;

    /** When the lease ends on System.nanoTime(); meaningful while LIVE. */
    private volatile long endsAtNanos;

    /** When the lease ends on Redis' clock: the stamp of its heartbeat plus the lease duration. */
    private long endsAtRedisMillis;

    /**
     * Redis' clock as last stamped, and when the heartbeat it stamped was sent and its answer
     * came back (System.nanoTime()): Redis' clock now is at least the stamp plus the time since
     * the answer came back, and at most the stamp plus the time since it was sent.
     */
    private long stampMillis;

    private long stampSentNanos;

    private long stampReceivedNanos;

    /** When the current lease began, so that users linked within the confirm delay stay unconfirmed. */
    private long startedAtNanos;

    /** Bumped at every lapse and end. */
    private long epoch;

    private final AtomicLong lapses = new AtomicLong();

    private volatile Instant lastLapse;

    /** Writes granted and not yet answered. */
    private final Set<Grant> outstanding = ConcurrentHashMap.newKeySet();

    /** The latest fence of a write that ended without an answer: it may land until then. */
    private final AtomicLong unansweredUntilMillis = new AtomicLong();

    /**
     * @param leaseDuration the pod expiry minus the lease margin
     * @param leaseMargin what the clocks may disagree by (see the class comment)
     * @param confirmDelay how long after a lease begins a gateway may still move a user on a view
     * from before it: the relink grace plus the lease margin
     * @param commandTimeout how long a caller waits for a write: its fence is no later
     */
    PodLease(PodIdentity identity, Duration leaseDuration, Duration leaseMargin, Duration confirmDelay,
            Duration commandTimeout, Events events, Timer timer) {
        this.identity = identity;
        this.leaseNanos = leaseDuration.toNanos();
        this.leaseMillis = leaseDuration.toMillis();
        this.marginMillis = leaseMargin.toMillis();
        this.confirmNanos = confirmDelay.toNanos();
        this.timeoutMillis = commandTimeout.toMillis();
        this.events = events;
        this.timer = timer;
    }

    /**
     * A heartbeat sent at {@code sentAtNanos} reached Redis, which stamped it {@code stampMillis}:
     * renews the lease unless a later heartbeat already did, the round trip outlasted the lease,
     * or the lease ended.
     */
    void renew(long sentAtNanos, long stampMillis) {
        long receivedNanos = System.nanoTime();
        long endsAt = sentAtNanos + this.leaseNanos;
        boolean started;
        boolean afterLapse;
        long startedEpoch;
        synchronized (this.lock) {
            if (this.state == State.ENDED || (this.state == State.LIVE && endsAt - this.endsAtNanos <= 0)
                    || endsAt - receivedNanos <= 0) {
                return;
            }
            started = this.state != State.LIVE;
            afterLapse = started && (this.state == State.LAPSED || this.epoch > 0);
            this.endsAtNanos = endsAt;
            this.endsAtRedisMillis = stampMillis + this.leaseMillis;
            this.stampMillis = stampMillis;
            this.stampSentNanos = sentAtNanos;
            this.stampReceivedNanos = receivedNanos;
            if (started) {
                this.startedAtNanos = receivedNanos;
            }
            this.state = State.LIVE;
            startedEpoch = this.epoch;
        }
        this.timer.schedule(this::isLive, Math.max(0, endsAt - System.nanoTime()));
        if (started) {
            this.events.started(startedEpoch, afterLapse);
        }
    }

    /**
     * Whether the lease is live now. Reads the monotonic clock, so a pod thawing from a freeze
     * learns of its lapse here before anything else; noticing a lapse reports it at once.
     */
    boolean isLive() {
        if (this.state != State.LIVE) {
            return false;
        }
        long now = System.nanoTime();
        if (now - this.endsAtNanos < 0) {
            return true;
        }
        lapse(now);
        return false;
    }

    private void lapse(long nowNanos) {
        long endedAt;
        synchronized (this.lock) {
            if (this.state != State.LIVE || nowNanos - this.endsAtNanos < 0) {
                return;
            }
            this.state = State.LAPSED;
            this.epoch++;
            endedAt = this.endsAtNanos;
        }
        this.lapses.incrementAndGet();
        this.lastLapse = Instant.now();
        this.events.lapsed(Duration.ofNanos(nowNanos - endedAt + this.leaseNanos));
    }

    /**
     * Grants a write: its fence, and the epoch it was granted in. The caller must
     * {@linkplain Grant#answered answer} the grant once the write completed.
     * @throws PodLeaseLapsedException when the lease is not live
     */
    Grant grant() {
        long now = System.nanoTime();
        Grant grant;
        synchronized (this.lock) {
            if (this.state != State.LIVE || now - this.endsAtNanos >= 0) {
                grant = null;
            }
            else {
                // the deadline from the earliest Redis' clock can read now, the decision from the latest:
                // both err on the side of refusing only what is certainly late
                long earliest = this.stampMillis + (now - this.stampReceivedNanos) / 1_000_000;
                long latest = this.stampMillis + (now - this.stampSentNanos + 999_999) / 1_000_000;
                grant = new Grant(new WriteFence(Math.min(this.endsAtRedisMillis, earliest + this.timeoutMillis),
                        latest), this.epoch, now - this.startedAtNanos < this.confirmNanos);
                this.outstanding.add(grant);
            }
        }
        if (grant == null) {
            isLive();
            throw new PodLeaseLapsedException(this.identity);
        }
        return grant;
    }

    /**
     * Sends a write under the grant: fenced, answered to the lease (which must know when no write
     * of an ended lease can still land), and failing with the lease's exception when Redis
     * refused it because the lease had ended by the time it landed.
     */
    <T> CompletableFuture<T> send(Grant grant, Function<WriteFence, CompletableFuture<T>> call) {
        CompletableFuture<T> sent;
        try {
            sent = call.apply(grant.fence());
        }
        catch (RuntimeException ex) {
            grant.answered(null);
            return CompletableFuture.failedFuture(ex);
        }
        return sent.handle((result, ex) -> {
            grant.answered(ex);
            if (ex == null) {
                return result;
            }
            Throwable cause = (ex instanceof CompletionException && ex.getCause() != null) ? ex.getCause() : ex;
            throw new CompletionException((cause instanceof FencedWriteException refused) ? refusal(refused, grant)
                    : cause);
        });
    }

    /**
     * The exception for a write Redis refused: the lease's if it had ended on Redis' clock, else
     * the refusal as is (a late write, a user taken since).
     */
    private FencedWriteException refusal(FencedWriteException refused, Grant grant) {
        if (refused instanceof UserTakenException) {
            return refused;
        }
        synchronized (this.lock) {
            boolean sameLease = this.epoch == grant.epoch() && this.state == State.LIVE;
            if (!sameLease || refused.redisTimeMillis() >= this.endsAtRedisMillis) {
                return new PodLeaseLapsedException(this.identity, refused);
            }
        }
        return refused;
    }

    /**
     * Whether a user linked by a write of this grant is owned at once: the lease that granted it
     * is still live, and began longer than the confirm delay ago, so no gateway can still move
     * the user on a view from before it.
     */
    boolean confirms(Grant grant) {
        synchronized (this.lock) {
            return !grant.confirming() && this.epoch == grant.epoch() && this.state == State.LIVE;
        }
    }

    /** Whether the lease is live in {@code epoch}: a confirmation begun then still holds. */
    boolean isLiveIn(long epoch) {
        synchronized (this.lock) {
            return this.state == State.LIVE && this.epoch == epoch;
        }
    }

    /** Bumped at every lapse and end: users linked in an earlier epoch are not confirmed by this one. */
    long epoch() {
        synchronized (this.lock) {
            return this.epoch;
        }
    }

    /** Whether a lease began less than the confirm delay ago. */
    boolean isConfirming() {
        synchronized (this.lock) {
            return this.state == State.LIVE && System.nanoTime() - this.startedAtNanos < this.confirmNanos;
        }
    }

    /** Nanos until the confirm delay of the current lease is over (0 when it is, or no lease is live). */
    long confirmingForNanos() {
        synchronized (this.lock) {
            return (this.state != State.LIVE) ? 0
                    : Math.max(0, this.startedAtNanos + this.confirmNanos - System.nanoTime());
        }
    }

    /**
     * Ends the lease now (the pod shuts down or stops): no write is granted and no heartbeat
     * renews it until {@link #reopen()}.
     * @return whether it was live
     */
    boolean end() {
        synchronized (this.lock) {
            boolean wasLive = this.state == State.LIVE;
            if (this.state != State.ENDED) {
                this.state = State.ENDED;
                this.epoch++;
            }
            return wasLive;
        }
    }

    /** After an end, lets the next heartbeat begin a new lease. */
    void reopen() {
        synchronized (this.lock) {
            if (this.state == State.ENDED) {
                this.state = State.NONE;
            }
        }
    }

    /**
     * Completes once no write granted so far can still land: each was answered, or its fence
     * (plus the lease margin, for the clocks of the servers) has passed on Redis' clock. Call
     * it after {@link #end()}, which stops new grants, before telling gateways they may move the
     * pod's users at once (publishing {@code SHUTDOWN}).
     */
    CompletableFuture<Void> settled() {
        List<CompletableFuture<Void>> answers = this.outstanding.stream().map(Grant::answer).toList();
        return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).thenCompose((done) -> {
            long waitMillis;
            synchronized (this.lock) {
                long redisNow = this.stampMillis + (System.nanoTime() - this.stampReceivedNanos) / 1_000_000;
                waitMillis = this.unansweredUntilMillis.get() + this.marginMillis - redisNow;
            }
            return (waitMillis <= 0) ? CompletableFuture.completedFuture(null)
                    : CompletableFuture.runAsync(() -> { },
                            CompletableFuture.delayedExecutor(waitMillis, TimeUnit.MILLISECONDS));
        });
    }

    /** Where the lease stands now. */
    State state() {
        isLive();
        return this.state;
    }

    long lapses() {
        return this.lapses.get();
    }

    Instant lastLapse() {
        return this.lastLapse;
    }

    /**
     * One write's permission: the fence it carries, the epoch of the lease that granted it, and
     * whether that lease was within its confirm delay.
     */
    final class Grant {

        private final WriteFence fence;

        private final long epoch;

        private final boolean confirming;

        private final CompletableFuture<Void> answer = new CompletableFuture<>();

        private Grant(WriteFence fence, long epoch, boolean confirming) {
            this.fence = fence;
            this.epoch = epoch;
            this.confirming = confirming;
        }

        WriteFence fence() {
            return this.fence;
        }

        long epoch() {
            return this.epoch;
        }

        boolean confirming() {
            return this.confirming;
        }

        private CompletableFuture<Void> answer() {
            return this.answer;
        }

        /**
         * The write completed with {@code failure} (null: a reply): one that ended without a
         * reply (a timeout, a lost connection) may still land until its fence.
         */
        void answered(Throwable failure) {
            if (failure instanceof RedisUnavailableException
                    || failure != null && failure.getCause() instanceof RedisUnavailableException) {
                PodLease.this.unansweredUntilMillis.accumulateAndGet(this.fence.deadlineMillis(), Math::max);
            }
            PodLease.this.outstanding.remove(this);
            this.answer.complete(null);
        }
    }
}
