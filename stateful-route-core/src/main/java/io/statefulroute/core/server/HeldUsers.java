package io.statefulroute.core.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.PodLeaseLapsedException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.core.redis.StatefulExecutor;

/**
 * The users a pod holds, whether it owns each of them, and how that is kept true to Redis: the
 * pod's view of its users is reconciled with their links, a held user linked elsewhere is
 * reported lost exactly once, and a held user whose link Redis lost gets it back.
 *
 * <p>A user is held from the write that linked it here persistently until the pod lets it go
 * (a removal, a hand-off) or loses it. It is owned while the lease is live and it is confirmed:
 * a user linked under an earlier lease, or within the confirm delay after the current one began,
 * is unconfirmed until a reconcile past that delay found it still linked here, since a gateway
 * may move it on a view from before the lease began until then.
 */
final class HeldUsers {

    private static final Logger logger = LoggerFactory.getLogger(HeldUsers.class);

    /** Users checked per pipelined batch when reconciling. */
    private static final int RECONCILE_BATCH = 500;

    /** How soon users a reconcile could not settle are reconciled again. */
    private static final long RECONCILE_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final StatefulExecutor executor;

    private final PodIdentity identity;

    private final PodLease lease;

    private final PodLease.Timer timer;

    /** Held users, each with the generation of its last write, so a reconcile never drops a newer write. */
    private final ConcurrentHashMap<String, Long> held = new ConcurrentHashMap<>();

    private final AtomicLong generations = new AtomicLong();

    private final Set<String> unconfirmed = ConcurrentHashMap.newKeySet();

    /** Whether a confirmation of users linked late is scheduled already. */
    private final AtomicBoolean confirmPending = new AtomicBoolean();

    /** Users this pod is letting go of itself right now, with how many such writes are under way. */
    private final ConcurrentHashMap<String, Integer> releasing = new ConcurrentHashMap<>();

    /** Users with writes of the pod's own under way that may link them here, with how many. */
    private final ConcurrentHashMap<String, Integer> writing = new ConcurrentHashMap<>();

    /**
     * Numbers the releases and the checks of every held user as they begin, so a write can tell
     * whether one began since it did.
     */
    private final AtomicLong steps = new AtomicLong();

    /** The number of the last check of every held user, taken before it listed the users. */
    private volatile long fullCheckBegan;

    /** Which release of the user began last, kept while a write or a release of the user is under way. */
    private final ConcurrentHashMap<String, Long> releaseBegan = new ConcurrentHashMap<>();

    /** Whether a check of every held user waits for the pod thread, so that another request joins it. */
    private final AtomicBoolean fullReconcileQueued = new AtomicBoolean();

    /** Users named by a notice while the pod was letting them go itself, until that write is answered. */
    private final Set<String> noticedWhileReleasing = ConcurrentHashMap.newKeySet();

    /** Held users named by link change notices, reconciled in one batch. */
    private final Set<String> noticed = ConcurrentHashMap.newKeySet();

    /** Users a reconcile could not settle, waiting for the pending retry. */
    private final Set<String> retrying = ConcurrentHashMap.newKeySet();

    private final AtomicBoolean retryPending = new AtomicBoolean();

    private final List<OwnershipListener> listeners = new CopyOnWriteArrayList<>();

    private final AtomicLong lost = new AtomicLong();

    private final AtomicLong restored = new AtomicLong();

    /** @param timer runs tasks on the pod's own thread, one at a time: reconciles and listener calls */
    HeldUsers(StatefulExecutor executor, PodIdentity identity, PodLease lease, PodLease.Timer timer) {
        this.executor = executor;
        this.identity = identity;
        this.lease = lease;
        this.timer = timer;
    }

    void addListener(OwnershipListener listener) {
        this.listeners.add(listener);
    }

    // ---- what the pod's own writes did

    /**
     * A write granted by {@code grant} linked the user here: held if persistent (a temporary
     * link lets it go), and owned at once unless the lease that granted the write lapsed or
     * ended since, or began less than the confirm delay before it, or the pod began letting the
     * user go or checking every user while the write was under way (then the user is checked
     * with Redis first).
     * @param ticket what {@link #beginWrite} returned for this write
     */
    void linked(String uid, boolean persistent, PodLease.Grant grant, long ticket) {
        if (!persistent) {
            release(uid);
            return;
        }
        this.held.put(uid, this.generations.incrementAndGet());
        if (this.releasing.containsKey(uid) || this.releaseBegan.getOrDefault(uid, 0L) > ticket
                || this.fullCheckBegan > ticket) {
            // Only Redis knows where the user is. Either this pod let the user go (a hand-off, a
            // removal) while the write was under way, and the answers may have come in either
            // order. Or a check of every user listed them before this one was held: it runs when
            // Redis may have lost writes (a failover), and the old primary may have answered this
            // write on a connection the client had not moved yet, and lost it.
            this.unconfirmed.add(uid);
            noticed(uid);
            return;
        }
        if (this.lease.confirms(grant)) {
            this.unconfirmed.remove(uid);
            return;
        }
        this.unconfirmed.add(uid);
        if (!this.lease.isConfirming()) {
            // the confirmation the lease's start scheduled may have run already: one more
            long epoch = this.lease.epoch();
            scheduleOnce(this.confirmPending, 0, () -> confirm(epoch));
        }
    }

    /**
     * A write of the pod's own that may link the user here begins.
     * @return the ticket to hand to {@link #linked}, which tells it whether the pod began
     * letting the user go while the write was under way
     */
    long beginWrite(String uid) {
        this.writing.merge(uid, 1, Integer::sum);
        return this.steps.get();
    }

    void endWrite(String uid) {
        this.writing.computeIfPresent(uid, (key, writes) -> (writes == 1) ? null : writes - 1);
        forgetRelease(uid);
    }

    /**
     * The pod is letting the user go with a write of its own (a removal, a hand-off). Its notice
     * can come back before the write is answered: until {@link #endRelease}, a reconcile that
     * finds the user linked elsewhere or nowhere neither counts it as lost nor restores it, and
     * the pod does not own the user.
     */
    void beginRelease(String uid) {
        this.releasing.merge(uid, 1, Integer::sum);
        this.releaseBegan.put(uid, this.steps.incrementAndGet());
    }

    /**
     * The pod's write that let the user go was answered or failed. A user still held but not
     * confirmed (a write of its own overlapped the release, which then failed), or named by a
     * notice meanwhile, is checked with Redis now that reconciles no longer skip it; a user
     * released by then needs no check.
     */
    void endRelease(String uid) {
        this.releasing.computeIfPresent(uid, (key, writes) -> (writes == 1) ? null : writes - 1);
        forgetRelease(uid);
        if (!this.releasing.containsKey(uid)
                && (this.noticedWhileReleasing.remove(uid) | this.unconfirmed.contains(uid))) {
            noticed(uid);
        }
    }

    /** When no write and no release of the user is under way, when its last release began no longer matters. */
    private void forgetRelease(String uid) {
        this.releaseBegan.computeIfPresent(uid,
                (key, began) -> (this.writing.containsKey(key) || this.releasing.containsKey(key)) ? began : null);
    }

    void release(String uid) {
        this.held.remove(uid);
        this.unconfirmed.remove(uid);
    }

    // ---- what the pod knows

    Set<String> users() {
        return Collections.unmodifiableSet(this.held.keySet());
    }

    /**
     * Whether the pod owns the user: the lease is live, it holds the user, the user is confirmed,
     * and the pod is not letting it go: from the moment a hand-off or removal begins, the new pod
     * may take the user as soon as the write lands, before this pod hears the answer.
     */
    boolean owns(String uid) {
        return this.lease.isLive() && this.held.containsKey(uid) && !this.unconfirmed.contains(uid)
                && !this.releasing.containsKey(uid);
    }

    /** {@link #owns}, also reading the user's link from Redis; a held user linked elsewhere is reported lost. */
    CompletableFuture<Boolean> check(String uid) {
        if (!owns(uid)) {
            return CompletableFuture.completedFuture(false);
        }
        Long generation = this.held.get(uid);
        return this.executor.getLinkAsync(this.identity.namespace(), uid, this.identity.service()).thenApply((link) -> {
            if (link.map(LinkInfo::podIndex).orElse(-1) != this.identity.podIndex()) {
                Set<String> gone = new LinkedHashSet<>();
                if (generation != null && this.held.remove(uid, generation)) {
                    this.unconfirmed.remove(uid);
                    gone.add(uid);
                }
                reportLost(gone, LossReason.LINK_CHANGED);
                return false;
            }
            return owns(uid);
        });
    }

    int unconfirmedCount() {
        return this.unconfirmed.size();
    }

    long lostCount() {
        return this.lost.get();
    }

    long restoredCount() {
        return this.restored.get();
    }

    // ---- what the lease did

    /** The lease lapsed: nothing is owned until confirmed again; users moved meanwhile are lost. */
    void lapsed(Duration sinceLastSuccess) {
        this.unconfirmed.addAll(this.held.keySet());
        logger.warn("Pod {} lost its lease ({} since the last heartbeat that reached Redis was sent): it owns none "
                + "of its {} users and takes no users until a heartbeat succeeds", this.identity, sinceLastSuccess,
                this.held.size());
        onPodThread(() -> {
            this.listeners.forEach((listener) -> listener.leaseLapsed(this.identity, sinceLastSuccess));
            reconcile(List.copyOf(this.held.keySet()), LossReason.LEASE_LAPSED);
        });
    }

    /** The pod ended its lease (SHUTDOWN, stop): every held user is unconfirmed until a new lease confirms it. */
    void ended() {
        this.unconfirmed.addAll(this.held.keySet());
        logger.info("Pod {} ended its lease: it owns none of its {} users and takes no users", this.identity,
                this.held.size());
    }

    /**
     * A lease began in {@code epoch}: once the confirm delay has passed, no gateway can still move
     * a user on a view from before it, and the users still linked here are owned again.
     */
    void leaseStarted(long epoch, boolean afterLapse, long confirmDelayNanos) {
        this.timer.schedule(() -> confirm(epoch), confirmDelayNanos);
        if (afterLapse) {
            logger.info("Pod {} has a lease again: it takes users again; {} users from before are confirmed after the "
                    + "relink grace", this.identity, this.unconfirmed.size());
            onPodThread(() -> this.listeners.forEach((listener) -> listener.leaseRenewed(this.identity)));
        }
    }

    private void confirm(long epoch) {
        if (this.lease.isLiveIn(epoch)) {
            reconcile(List.copyOf(this.unconfirmed), LossReason.LEASE_LAPSED);
        }
    }

    // ---- what Redis says

    /**
     * A link change notice named the user: reconciled with the others named meanwhile. While the
     * pod is letting the user go itself, most likely the notice is of its own write: it waits
     * for that write's answer ({@link #endRelease}), and is checked only if the pod still holds
     * the user then, so that a drain or a rebalance does not read back every user it moves.
     */
    void noticed(String uid) {
        if (!this.held.containsKey(uid)) {
            return;
        }
        if (this.releasing.containsKey(uid)) {
            this.noticedWhileReleasing.add(uid);
            // the release may have ended between the two looks: then nobody else takes it up
            if (this.releasing.containsKey(uid) || !this.noticedWhileReleasing.remove(uid)) {
                return;
            }
        }
        this.noticed.add(uid);
        // one task per notice; a task finding the set drained by an earlier one does nothing
        onPodThread(this::reconcileNoticed);
    }

    /**
     * Every held user is checked against Redis: notices may have been missed, or Redis lost
     * writes. Asked for again before the check is sent, it is sent once: a burst of such reports
     * (every read of an outage failing at once) costs one read of each user, not one per report.
     * A write of the pod's own under way while it lists the users is checked on its own once
     * answered ({@link #linked}).
     */
    void reconcileAll() {
        scheduleOnce(this.fullReconcileQueued, 0, () -> {
            // before the users are listed: a write answered after this sees it (linked)
            this.fullCheckBegan = this.steps.incrementAndGet();
            reconcile(List.copyOf(this.held.keySet()), LossReason.LINK_CHANGED);
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
     * cluster; no scan; tracked where notices come by client tracking, so the pod keeps hearing
     * of the users it still holds). A held user linked elsewhere is reported lost. A held user with no
     * link at all lost it in Redis (no writer removes another pod's link): while the lease is
     * live it is restored, fenced, unless another pod was given the user meanwhile (then it is
     * lost). A reconcile that began under a live lease past its confirm delay confirms the users
     * it found linked here, if the lease is still the same when it ends. Users it could not
     * settle (Redis did not answer, no live lease to restore a link under, a restore refused or
     * unconfirmed by replicas) are reconciled again a little later while they are held.
     */
    private void reconcile(Collection<String> uids, LossReason reason) {
        long epoch = this.lease.epoch();
        boolean mayConfirm = this.lease.isLive() && !this.lease.isConfirming();
        Map<String, Long> generationsRead = new HashMap<>();
        for (String uid : uids) {
            Long generation = this.held.get(uid);
            if (generation != null) {
                generationsRead.put(uid, generation);
            }
        }
        List<String> users = List.copyOf(generationsRead.keySet());
        List<CompletableFuture<Map<Integer, List<String>>>> batches = new ArrayList<>();
        for (int from = 0; from < users.size(); from += RECONCILE_BATCH) {
            batches.add(this.executor.batchGetLinkedPodAndFollowAsync(this.identity.namespace(),
                    users.subList(from, Math.min(users.size(), from + RECONCILE_BATCH)), this.identity.service()));
        }
        CompletableFuture.allOf(batches.toArray(CompletableFuture[]::new)).thenCompose((done) -> {
            Set<String> linked = new LinkedHashSet<>();
            Set<String> linkedAnywhere = new LinkedHashSet<>();
            for (CompletableFuture<Map<Integer, List<String>>> batch : batches) {
                batch.join().forEach((pod, linkedUsers) -> {
                    linkedAnywhere.addAll(linkedUsers);
                    if (pod == this.identity.podIndex()) {
                        linked.addAll(linkedUsers);
                    }
                });
            }
            Set<String> gone = new LinkedHashSet<>();
            List<String> missing = new ArrayList<>();
            for (String uid : users) {
                if (linked.contains(uid) || this.releasing.containsKey(uid)) {
                    continue;
                }
                if (!linkedAnywhere.contains(uid)) {
                    missing.add(uid);
                }
                // a write since the read (generation changed) is newer than what was read
                else if (this.held.remove(uid, generationsRead.get(uid))) {
                    this.unconfirmed.remove(uid);
                    gone.add(uid);
                }
            }
            reportLost(gone, reason);
            return restore(missing, generationsRead, reason).thenAccept((restoredNow) -> {
                linked.addAll(restoredNow);
                if (mayConfirm && this.lease.isLiveIn(epoch)) {
                    this.unconfirmed.removeAll(linked);
                }
                missing.removeAll(restoredNow);
                reconcileLater(missing, reason);
            });
        }).exceptionally((ex) -> {
            logger.debug("Pod {} could not reconcile {} users, retrying: {}", this.identity, users.size(),
                    ex.getMessage());
            reconcileLater(users, reason);
            return null;
        });
    }

    /**
     * Users a reconcile could not settle, reconciled again after {@link #RECONCILE_RETRY_NANOS}
     * (one pending retry gathers them all), while they are held.
     */
    private void reconcileLater(Collection<String> users, LossReason reason) {
        if (users.isEmpty()) {
            return;
        }
        this.retrying.addAll(users);
        scheduleOnce(this.retryPending, RECONCILE_RETRY_NANOS, () -> {
            List<String> again = List.copyOf(this.retrying);
            this.retrying.removeAll(again);
            reconcile(again, reason);
        });
    }

    /**
     * Writes back the links Redis lost of users this pod holds, fenced like any write of the
     * pod, and only where the user is linked nowhere or still here (a compare-and-set from this
     * pod to itself, no link counting as this pod). A user another pod was given meanwhile is
     * lost. Without a live lease nothing is written. Completes with the users linked here now.
     */
    private CompletableFuture<Set<String>> restore(List<String> missing, Map<String, Long> generationsRead,
            LossReason reason) {
        if (missing.isEmpty() || !this.lease.isLive()) {
            return CompletableFuture.completedFuture(Set.of());
        }
        Map<String, CompletableFuture<LinkInfo>> writes = new HashMap<>();
        for (String uid : missing) {
            if (!generationsRead.get(uid).equals(this.held.get(uid)) || this.releasing.containsKey(uid)) {
                continue;
            }
            PodLease.Grant grant;
            try {
                grant = this.lease.grant();
            }
            catch (PodLeaseLapsedException ex) {
                break;
            }
            writes.put(uid, this.lease.send(grant, (fence) -> this.executor.compareAndSetLinkedPodAsync(
                    this.identity.namespace(), uid, this.identity.service(), this.identity.podIndex(),
                    this.identity.podIndex(), RouteArguments.PERSIST_FOREVER, fence)));
        }
        return CompletableFuture.allOf(writes.values().stream().map((write) -> write.exceptionally((ex) -> null))
            .toArray(CompletableFuture[]::new)).thenApply((done) -> {
                Set<String> restoredNow = new LinkedHashSet<>();
                Set<String> gone = new LinkedHashSet<>();
                writes.forEach((uid, write) -> {
                    LinkInfo link = write.join();
                    if (link == null) {
                        return;
                    }
                    if (link.podIndex() == this.identity.podIndex()) {
                        restoredNow.add(uid);
                    }
                    else if (this.held.remove(uid, generationsRead.get(uid))) {
                        this.unconfirmed.remove(uid);
                        gone.add(uid);
                    }
                });
                if (!restoredNow.isEmpty()) {
                    this.restored.addAndGet(restoredNow.size());
                    logger.warn("Pod {} restored the links of {} users that Redis had lost", this.identity,
                            restoredNow.size());
                }
                reportLost(gone, reason);
                return restoredNow;
            });
    }

    private void reportLost(Set<String> gone, LossReason reason) {
        if (gone.isEmpty()) {
            return;
        }
        this.lost.addAndGet(gone.size());
        logger.warn("Pod {} lost {} users ({}), now linked elsewhere or released", this.identity, gone.size(), reason);
        Set<String> reported = Collections.unmodifiableSet(gone);
        onPodThread(() -> this.listeners.forEach((listener) -> listener.usersLost(this.identity, reported, reason)));
    }

    private void onPodThread(Runnable task) {
        this.timer.schedule(task, 0);
    }

    /**
     * Runs the task on the pod thread after the delay unless one is pending already, which then
     * serves this request too. A task the pod does not take (it has not started, or has stopped)
     * leaves none pending, so a later request is not mistaken for served.
     */
    private void scheduleOnce(AtomicBoolean pending, long delayNanos, Runnable task) {
        if (pending.compareAndSet(false, true) && !this.timer.schedule(() -> {
            pending.set(false);
            task.run();
        }, delayNanos)) {
            pending.set(false);
        }
    }
}
