package io.statefulroute.core.rebalance;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.ReplicaAcknowledgementException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;

/**
 * Evens out the users of a stateful service's pods, from inside each pod: a pod that holds more
 * users than the mean of the routable pods plus a tolerance moves some of its own users to the
 * pods below the mean, in paced rounds, each move with the application's consent
 * ({@link MoveConsent}) and each one a fenced {@link StatefulRouteForServerDriver#handOff
 * hand-off}. No coordinator: every pod sheds only its own users, so every move is a
 * compare-and-set from the pod that owns the user, refused where it lands if the pod's lease
 * ended or the user had moved meanwhile, and a user is never owned by two pods.
 *
 * <p><b>A round</b> reads the service's pods from Redis (one read). Counts are the users each
 * pod published with its last heartbeat ({@link PodState#users()}); this pod uses its own live
 * count, pods that publish none are left out, and only routable pods (alive and {@code READY})
 * take part. This pod sheds when it holds more than {@code mean * (1 + tolerance)}, and keeps
 * shedding in later rounds until it is down to the mean. Targets are the routable pods below
 * the mean, each given a share of the moves in proportion to how far below it is, never past
 * the mean or the capacity it declares. A round moves at most {@code maxShare} of this pod's
 * users and at most what {@code maxMovesPerSecond} allows in one interval, one hand-off at a
 * time, spaced by the rate. A draining pod, one whose lease is not live, and a pod whose round
 * found nothing to do move nothing.
 *
 * <p><b>Which users.</b> Any user this pod owns, in a random order, is proposed until the
 * application consents to enough of them: the library cannot tell which users are cheap to
 * move (idle, between matches), the application can; a random order spreads the asking, so a
 * user that refuses is not asked first in every round, and nobody is favoured for being old or
 * new. With {@link MoveConsent#NONE} a round proposes (reported in {@link #lastRound()},
 * {@link #stats()}) and moves nobody.
 *
 * <p>Rounds run on a thread of the rebalancer's own between {@link #start()} and
 * {@link #stop()}, one {@link RebalanceOptions#interval()} after the previous one ended;
 * {@link #runRound()} runs one now. {@link #setEnabled} switches rounds off and on at any time;
 * switched off, a round under way stops before its next move.
 */
public final class Rebalancer {

    private static final Logger logger = LoggerFactory.getLogger(Rebalancer.class);

    /**
     * Rounds for which a moved user counts on its target at most, if the target's published
     * count does not show it sooner: users reconnect once their link moved, most within a round.
     */
    private static final int SETTLE_ROUNDS = 3;

    private final StatefulRouteForServerDriver server;

    private final ServiceStateCache states;

    private final RebalanceOptions options;

    private final MoveConsent consent;

    private final PodIdentity identity;

    private final long spacingNanos;

    private volatile boolean enabled = true;

    private volatile RebalanceRound lastRound;

    private final AtomicLong rounds = new AtomicLong();

    private final AtomicLong proposed = new AtomicLong();

    private final AtomicLong accepted = new AtomicLong();

    private final AtomicLong refused = new AtomicLong();

    private final AtomicLong completed = new AtomicLong();

    private final AtomicLong failed = new AtomicLong();

    /** Guards a round, and what rounds hand on to the next: sent moves, shedding, the next move's slot. */
    private final Object roundLock = new Object();

    private final SentMoves sent;

    private boolean shedding;

    private long nextMoveAtNanos = System.nanoTime();

    /** The last decision logged at info level, so a state that lasts is logged once. */
    private RebalanceRound.Decision loggedDecision;

    private ScheduledExecutorService thread;

    /**
     * @param server this pod, whose users move
     * @param states where the service's pods are read from (each round reloads the service)
     * @param consent the application's consent to each move; {@link MoveConsent#NONE} to
     * propose only
     */
    public Rebalancer(StatefulRouteForServerDriver server, ServiceStateCache states, RebalanceOptions options,
            MoveConsent consent) {
        this.server = RouteArguments.requireNonNull("server", server);
        this.states = RouteArguments.requireNonNull("states", states);
        this.options = RouteArguments.requireNonNull("options", options);
        this.consent = RouteArguments.requireNonNull("consent", consent);
        this.identity = server.identity();
        this.spacingNanos = TimeUnit.SECONDS.toNanos(1) / options.maxMovesPerSecond();
        this.sent = new SentMoves(options.interval().toNanos() * SETTLE_ROUNDS);
    }

    /** Starts the rounds on a thread of the rebalancer's own. Idempotent. */
    public synchronized void start() {
        if (this.thread != null) {
            return;
        }
        this.thread = Executors.newSingleThreadScheduledExecutor((task) -> {
            Thread rounds = new Thread(task, "stateful-route-rebalance-" + this.identity);
            rounds.setDaemon(true);
            return rounds;
        });
        long interval = this.options.interval().toNanos();
        this.thread.scheduleWithFixedDelay(this::scheduledRound, interval, interval, TimeUnit.NANOSECONDS);
    }

    /**
     * Stops the rounds: a round under way ends before its next move (a hand-off under way
     * completes). Idempotent.
     */
    public synchronized void stop() {
        if (this.thread != null) {
            this.thread.shutdownNow();
            this.thread = null;
        }
    }

    /** Whether rounds run. */
    public boolean isEnabled() {
        return this.enabled;
    }

    /** Switches rounds on or off; off, a round under way stops before its next move. */
    public void setEnabled(boolean enabled) {
        if (this.enabled != enabled) {
            logger.info("Pod {}: rebalancing switched {}", this.identity, enabled ? "on" : "off");
        }
        this.enabled = enabled;
    }

    /** Whether an application consents to moves; without, rounds only propose. */
    public boolean hasConsent() {
        return this.consent != MoveConsent.NONE;
    }

    public RebalanceOptions options() {
        return this.options;
    }

    /** The last round that ran while enabled, or null before the first. */
    public RebalanceRound lastRound() {
        return this.lastRound;
    }

    /** What the rounds did so far. */
    public RebalanceStats stats() {
        return new RebalanceStats(this.rounds.get(), this.proposed.get(), this.accepted.get(), this.refused.get(),
                this.completed.get(), this.failed.get());
    }

    private void scheduledRound() {
        try {
            runRound();
        }
        catch (RuntimeException ex) {
            logger.warn("Pod {}: rebalancing round failed", this.identity, ex);
        }
    }

    /**
     * Runs one round now (after a round under way, if any): reads the service's pods, proposes
     * moves if this pod is above the mean beyond the tolerance, and makes those the application
     * consents to, paced. Redis failures end the round and are reported in it, never thrown.
     */
    public RebalanceRound runRound() {
        synchronized (this.roundLock) {
            Instant startedAt = Instant.now();
            long started = System.nanoTime();
            int users = this.server.heldUsers().size();
            if (!this.enabled) {
                this.shedding = false;
                return RebalanceRound.skipped(startedAt, RebalanceRound.Decision.DISABLED, users);
            }
            if (!this.server.isRunning() || this.server.getRoutingState() != RoutingState.READY
                    || !this.server.isLeaseLive()) {
                this.shedding = false;
                return finish(RebalanceRound.skipped(startedAt, RebalanceRound.Decision.NOT_READY, users));
            }
            ServiceView view;
            try {
                view = this.states.reloadAsync(this.identity.namespace(), this.identity.service()).join();
            }
            catch (CompletionException | StatefulRouteException ex) {
                logger.debug("Pod {}: rebalancing could not read the service: {}", this.identity, ex.getMessage());
                return finish(RebalanceRound.skipped(startedAt, RebalanceRound.Decision.NO_VIEW, users));
            }
            this.rounds.incrementAndGet();
            Map<Integer, RebalancePlan.Peer> peers = peers(view, System.nanoTime());
            RebalancePlan plan = RebalancePlan.of(users, List.copyOf(peers.values()), this.options, this.shedding);
            this.shedding = plan.decision() == RebalanceRound.Decision.PROPOSED;
            Moves moves = new Moves();
            if (this.shedding) {
                this.proposed.addAndGet(plan.quotas().values().stream().mapToInt(Integer::intValue).sum());
                if (hasConsent()) {
                    move(plan, peers, moves);
                }
            }
            return finish(new RebalanceRound(startedAt, plan.decision(), users, plan.mean(), plan.pods(),
                    plan.quotas(), moves.accepted, moves.refused, moves.moved, moves.failed,
                    Duration.ofNanos(System.nanoTime() - started)));
        }
    }

    /** The other routable pods that publish a count, with the users moved to them lately. */
    private Map<Integer, RebalancePlan.Peer> peers(ServiceView view, long nowNanos) {
        Map<Integer, RebalancePlan.Peer> peers = new HashMap<>();
        for (PodState pod : view.routablePods()) {
            if (pod.podIndex() == this.identity.podIndex() || pod.users() < 0) {
                continue;
            }
            int users = this.sent.estimate(pod.podIndex(), pod.users(), nowNanos);
            int room;
            if (!view.hasRoom(pod)) {
                room = 0;
            }
            else {
                room = pod.capacity().limitsUsers() ? Math.max(0, pod.capacity().maxUsers() - users) : Integer.MAX_VALUE;
            }
            peers.put(pod.podIndex(), new RebalancePlan.Peer(pod.podIndex(), users, room));
        }
        return peers;
    }

    /** What a round's moves came to. */
    private static final class Moves {

        private int accepted;

        private int refused;

        private int moved;

        private int failed;
    }

    /**
     * Fills each target's quota with users the application consents to move there, one
     * hand-off per slot of the rate. Ends early when switched off or stopped, when no user is
     * left to ask, or when a hand-off fails (Redis, the lease: the next ones would too).
     */
    private void move(RebalancePlan plan, Map<Integer, RebalancePlan.Peer> peers, Moves moves) {
        List<String> candidates = new ArrayList<>(this.server.heldUsers());
        Collections.shuffle(candidates, ThreadLocalRandom.current());
        Iterator<String> users = candidates.iterator();
        for (Map.Entry<Integer, Integer> quota : plan.quotas().entrySet()) {
            int target = quota.getKey();
            for (int i = 0; i < quota.getValue(); i++) {
                if (!this.enabled || !awaitSlot()) {
                    return;
                }
                String uid = nextConsenting(users, target, moves);
                if (uid == null || !handOff(uid, target, peers.get(target).users(), moves)) {
                    return;
                }
            }
        }
    }

    /** Waits for the next move's slot of the rate; false when interrupted (stopped). */
    private boolean awaitSlot() {
        long wait = this.nextMoveAtNanos - System.nanoTime();
        try {
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return false;
        }
        this.nextMoveAtNanos = Math.max(this.nextMoveAtNanos, System.nanoTime()) + this.spacingNanos;
        return true;
    }

    /** The next user this pod owns that the application consents to move to the target, or null. */
    private String nextConsenting(Iterator<String> users, int target, Moves moves) {
        while (users.hasNext()) {
            String uid = users.next();
            if (!this.server.owns(uid)) {
                continue;
            }
            boolean yes;
            try {
                yes = this.consent.mayMove(uid, target);
            }
            catch (RuntimeException ex) {
                logger.warn("Pod {}: MoveConsent failed for a user; taken as a refusal", this.identity, ex);
                yes = false;
            }
            if (yes) {
                moves.accepted++;
                this.accepted.incrementAndGet();
                return uid;
            }
            moves.refused++;
            this.refused.incrementAndGet();
        }
        return null;
    }

    /**
     * Hands the user off and tells the application how it went.
     * @param targetUsers the users the target held as this round knew, for {@link SentMoves}
     * @return whether the round may go on
     */
    private boolean handOff(String uid, int target, int targetUsers, Moves moves) {
        boolean moved;
        RuntimeException failure = null;
        try {
            moved = this.server.handOff(uid, target);
        }
        catch (ReplicaAcknowledgementException ex) {
            // applied on the primary, and the pod let the user go as it asked
            moved = true;
        }
        catch (RuntimeException ex) {
            moved = false;
            failure = ex;
        }
        if (moved) {
            moves.moved++;
            this.completed.incrementAndGet();
            this.sent.sent(target, targetUsers, System.nanoTime());
        }
        else {
            moves.failed++;
            this.failed.incrementAndGet();
        }
        try {
            if (moved) {
                this.consent.moved(uid, target);
            }
            else {
                this.consent.notMoved(uid, target);
            }
        }
        catch (RuntimeException ex) {
            logger.warn("Pod {}: MoveConsent failed on a move's outcome", this.identity, ex);
        }
        if (failure != null) {
            logger.info("Pod {}: a hand-off to pod {} failed, rebalancing waits for the next round: {}", this.identity,
                    target, failure.getMessage());
            return false;
        }
        return true;
    }

    private RebalanceRound finish(RebalanceRound round) {
        this.lastRound = round;
        log(round);
        return round;
    }

    private void log(RebalanceRound round) {
        boolean changed = round.decision() != this.loggedDecision;
        this.loggedDecision = round.decision();
        if (round.moved() > 0 || round.failed() > 0) {
            logger.info("Pod {} holds {} users, mean {} over {} pods: moved {} of {} proposed ({} refused, {} failed) "
                    + "in {} ms", this.identity, round.users(), String.format("%.1f", round.mean()), round.pods(),
                    round.moved(), round.proposedMoves(), round.refused(), round.failed(), round.took().toMillis());
        }
        else if (round.decision() == RebalanceRound.Decision.PROPOSED && changed) {
            logger.info("Pod {} holds {} users, above the mean {} of {} pods by more than {}%: proposes {} moves{}",
                    this.identity, round.users(), String.format("%.1f", round.mean()), round.pods(),
                    Math.round(this.options.tolerance() * 100), round.proposedMoves(),
                    hasConsent() ? ", none consented" : ", but no MoveConsent is configured: nothing moves");
        }
        else {
            logger.debug("Pod {} rebalancing round: {}", this.identity, round);
        }
    }
}
