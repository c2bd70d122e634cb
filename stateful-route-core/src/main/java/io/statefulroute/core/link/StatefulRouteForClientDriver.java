package io.statefulroute.core.link;

import java.time.Duration;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import com.github.benmanes.caffeine.cache.stats.ConcurrentStatsCounter;

import io.statefulroute.core.FencedWriteException;
import io.statefulroute.core.ForeignNamespaceException;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;

import static io.statefulroute.core.RouteArguments.requireId;

/**
 * The caller's side (a gateway): finds the pod that holds a user's state, linking new users
 * to the best routable pod.
 *
 * <p>{@link #computeLinkedPod} answers from the local cache while the cached pod still
 * serves its users (no Redis call); otherwise it costs one Redis round trip that returns the
 * existing link or atomically creates one, so gateways racing on a new user all get the
 * same pod. Only when the linked pod is dead or gone does a second, compare-and-set round
 * trip move the user to a live pod.
 *
 * <p>With {@link #listenForLinkChanges()} the cache follows every move and removal of a link
 * within milliseconds: Redis publishes a notice in the same atomic step as the change. When
 * notices may be missed (subscription down or just back, probe not answered), cached links
 * older than the fallback TTL are re-read from Redis until a probe comes back, which clears
 * the cache.
 */
public final class StatefulRouteForClientDriver {

    private static final Logger logger = LoggerFactory.getLogger(StatefulRouteForClientDriver.class);

    /** Cache entries checked for links past their time by each write. */
    private static final int SWEPT_PER_WRITE = 2;

    /** An end that never comes: no link to wait for. */
    private static final long NO_END = Long.MAX_VALUE;

    /** Longer than any read can take (command timeout), so a racing read always sees the notice. */
    private static final Duration RECENT_CHANGE_MEMORY = Duration.ofMinutes(1);

    /**
     * A probe taken by Redis this recently may still be on its way back (its notice comes on
     * another connection than Redis' answer to the write): a check that finds it pending judges
     * it at the next check instead. Checks run a refresh period apart, but one that ran late
     * comes just after the previous one's probe left.
     */
    private static final long PROBE_GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    private final StatefulExecutor executor;

    private final RouteInfoDriver routeInfo;

    private final ServiceStateCache states;

    private final ClientOptions options;

    private final long temporaryLinkSeconds;

    private final long cacheTtlNanos;

    /**
     * uid -> the user's cached links, weighed by their number: keyed by uid alone so that a
     * look-up allocates nothing.
     */
    private final Cache<String, CachedLink> cache;

    private final ConcurrentMap<String, CachedLink> links;

    private final BatchedMaintenance maintenance = new BatchedMaintenance();

    /** Hits and misses of link look-ups (not of users), and Caffeine's evictions. */
    private final ConcurrentStatsCounter stats = new ConcurrentStatsCounter();

    /** The walk {@link #sweepSome} continues, and who walks it now. */
    private final ReentrantLock sweeping = new ReentrantLock();

    private Iterator<Map.Entry<String, CachedLink>> sweep;

    /** The earliest end of the live entries the current walk has passed; guarded by {@link #sweeping}. */
    private long walkEarliestEnd = NO_END;

    /** The earliest end of the links cached since the current walk began, which it may have passed already. */
    private final AtomicLong cachedEarliestEnd = new AtomicLong(NO_END);

    /**
     * No cached link ends before this {@link System#nanoTime()}, so a sweep before it would
     * find nothing: a cache full of live links costs new users no sweeping.
     */
    private final AtomicLong sweepNotBefore = new AtomicLong(System.nanoTime());

    /** Link change notices received, and those that dropped a cached link. */
    private final LongAdder noticesReceived = new LongAdder();

    private final LongAdder noticesEvicting = new LongAdder();

    private final boolean renewOnAccess;

    /**
     * When a change notice last arrived for any link of a user, so a read that raced with it
     * is not cached (per user, not per link: a rare extra re-read, and no key to build).
     */
    private final Cache<String, Long> recentChanges;

    private final long fallbackTtlNanos;

    private volatile boolean listening;

    /** Whether change notices are known to arrive; while false, old cache entries are distrusted. */
    private volatile boolean noticesTrusted;

    /**
     * When notices were last reported possibly lost: a read begun before it is not cached,
     * as a probe may come back (and the cache be trusted again) before its caller caches it.
     */
    private volatile long noticesLostAtNanos = System.nanoTime();

    private volatile String pendingProbe;

    /** The Redis data cached links were last checked against (see {@link StatefulExecutor#redisIdentityAsync}). */
    private volatile String redisIdentity;

    /**
     * After Redis may have lost writes, cached links are kept (though distrusted) until then, on
     * {@link System#nanoTime()}: pods have had a relink grace to check their links by then.
     */
    private volatile long keepCachedPodsUntilNanos = System.nanoTime();

    /** Whether Redis took the pending probe: one that never left cannot be missing. */
    private volatile boolean pendingProbePublished;

    /** When Redis took the pending probe ({@link System#nanoTime()}). */
    private volatile long pendingProbePublishedAtNanos;

    private AutoCloseable subscription;

    private final RouteListener listener;

    public StatefulRouteForClientDriver(StatefulExecutor executor, RouteInfoDriver routeInfo, ClientOptions options) {
        this(executor, routeInfo, options, RouteListener.NOOP);
    }

    /** A driver that reports every routing decision to the listener (metrics, tracing). */
    public StatefulRouteForClientDriver(StatefulExecutor executor, RouteInfoDriver routeInfo, ClientOptions options,
            RouteListener listener) {
        this.listener = RouteArguments.requireNonNull("listener", listener);
        this.executor = RouteArguments.requireNonNull("executor", executor);
        this.routeInfo = RouteArguments.requireNonNull("routeInfo", routeInfo);
        this.states = routeInfo.states();
        this.options = RouteArguments.requireNonNull("options", options);
        this.temporaryLinkSeconds = options.temporaryLinkTtl().toSeconds();
        this.cacheTtlNanos = options.cacheTtl().toNanos();
        this.renewOnAccess = options.cacheExpiry() == ClientOptions.CacheExpiry.AFTER_ACCESS;
        // Maintenance (eviction) runs on a writing thread, in batches (BatchedMaintenance): handing
        // it to the common pool cost more than doing it (a third of the CPU at 50 threads, by JFR),
        // and running it after each write was half of a write's cost. No expiry policy: every
        // look-up checks its link's time itself (CachedLink.answersAt), and Caffeine's would read
        // the clock a second time and order its timer wheel on every hit: 110 ns of a cached
        // look-up's p50 against 70 ns without. Links past their time are swept as the cache is
        // written (sweepSome) and, like any entry, evicted for size.
        this.cache = Caffeine.newBuilder()
            .executor(this.maintenance)
            .maximumWeight(options.cacheMaximumSize())
            .weigher((String uid, CachedLink userLinks) -> userLinks.count())
            .recordStats(() -> this.stats)
            .build();
        this.links = this.cache.asMap();
        this.recentChanges = Caffeine.newBuilder()
            .executor(Runnable::run)
            .expireAfterWrite(RECENT_CHANGE_MEMORY)
            .build();
        this.fallbackTtlNanos = options.fallbackCacheTtl().toNanos();
    }

    // ---- computeLinkedPod

    /**
     * The pod the user is linked to for the service, linking the user to the best routable
     * pod (temporarily, for the temporary link TTL) if there is no live link.
     * @throws NoRoutablePodException when a new link is needed and no pod is routable
     * @throws io.statefulroute.core.PodsAtCapacityException (a {@link NoRoutablePodException})
     * when a new link is needed and every routable pod is at its capacity
     * @throws ForeignNamespaceException when a new link would be needed outside the local namespace
     * @throws io.statefulroute.core.RedisUnavailableException when Redis does not answer in time
     */
    public int computeLinkedPod(String namespace, String uid, String service) {
        long started = System.nanoTime();
        int cached = cachedAvailablePod(namespace, uid, service, started);
        if (cached >= 0) {
            recordCacheHit(namespace, service, started);
            return cached;
        }
        return this.executor.await(observedResolve(namespace, uid, service, onCallerThread(started)));
    }

    /** Non-blocking form of {@link #computeLinkedPod}; fails with the same exceptions. */
    public CompletableFuture<Integer> computeLinkedPodAsync(String namespace, String uid, String service) {
        long started = System.nanoTime();
        int cached = cachedAvailablePod(namespace, uid, service, started);
        if (cached >= 0) {
            recordCacheHit(namespace, service, started);
            return CompletableFuture.completedFuture(cached);
        }
        return observedResolve(namespace, uid, service, WHERE_REPLIES_COMPLETE);
    }

    /**
     * The cached pod if it still serves its users at {@code nowNanos}, else -1. Allocates
     * nothing and reads no clock of its own (the caller's reading is passed in): this runs on
     * every request.
     */
    private int cachedAvailablePod(String namespace, String uid, String service, long nowNanos) {
        CachedLink cached = trustedCachedLink(namespace, uid, service, nowNanos);
        if (cached == null) {
            return -1;
        }
        ServiceView view = this.states.cachedView(namespace, service);
        return (view != null && view.isAvailableAt(cached.podIndex, nowNanos)) ? cached.podIndex : -1;
    }

    /**
     * The cached link, unless there is none, its time is up, or it is too old to trust while
     * notices may be lost. Only ids that were validated are ever cached, so only a miss
     * validates them. Reads the map view, which counts no user-level statistics: hits and
     * misses are counted per link here.
     */
    private CachedLink trustedCachedLink(String namespace, String uid, String service, long nowNanos) {
        CachedLink userLinks = (uid != null) ? this.links.get(uid) : null;
        CachedLink cached = (userLinks != null) ? userLinks.find(namespace, service) : null;
        if (cached == null) {
            requireId("namespace", namespace);
            requireId("uid", uid);
            requireId("service", service);
        }
        if (cached == null || !cached.answersAt(nowNanos, this.cacheTtlNanos, this.renewOnAccess)
                || isDistrusted(cached, nowNanos)) {
            this.stats.recordMisses(1);
            return null;
        }
        this.stats.recordHits(1);
        return cached;
    }

    private void recordCacheHit(String namespace, String service, long startedNanos) {
        if (this.listener != RouteListener.NOOP) {
            this.listener.cacheHit(namespace, service, System.nanoTime() - startedNanos);
        }
    }

    /**
     * Where a resolution goes on after each Redis reply. Asynchronously, where the reply
     * completes: on a Lettuce I/O thread. A blocking call waits for each reply on its own
     * thread and goes on there: the I/O thread then only completes the reply, so it is free
     * for the next one sooner, and the caller's wake-up does not queue behind the cache write
     * and the routing decision (at 1 caller, a new user's latency; at many, the one I/O thread
     * they all share).
     */
    private interface Continuation {

        <T> CompletableFuture<T> after(CompletableFuture<T> reply);
    }

    private static final Continuation WHERE_REPLIES_COMPLETE = new Continuation() {

        @Override
        public <T> CompletableFuture<T> after(CompletableFuture<T> reply) {
            return reply;
        }
    };

    /** Every reply of a blocking call shares one deadline: the command timeout after the call began. */
    private Continuation onCallerThread(long startedNanos) {
        return new Continuation() {

            @Override
            public <T> CompletableFuture<T> after(CompletableFuture<T> reply) {
                try {
                    return CompletableFuture.completedFuture(
                            StatefulRouteForClientDriver.this.executor.awaitSince(reply, startedNanos));
                }
                catch (RuntimeException ex) {
                    return CompletableFuture.failedFuture(ex);
                }
            }
        };
    }

    private CompletableFuture<Integer> observedResolve(String namespace, String uid, String service,
            Continuation steps) {
        Resolution resolution = new Resolution(namespace, uid, service, steps);
        long readStart = System.nanoTime();
        if (!namespace.equals(this.options.localNamespace())) {
            steps.after(this.executor.getLinkAsync(namespace, uid, service)).thenApply((link) -> {
                if (link.isEmpty()) {
                    throw new ForeignNamespaceException(namespace, this.options.localNamespace());
                }
                return new Routed(cache(namespace, uid, service, link.get(), readStart), RouteOutcome.EXISTING_LINK);
            }).whenComplete(resolution::end);
            return resolution;
        }
        // the view is almost always cached: then no stage waits for it
        ServiceView cached = this.states.cachedView(namespace, service);
        if (cached != null) {
            resolution.resolveIn(cached, readStart);
        }
        else {
            // a failed read, or a decision that throws, ends the call
            steps.after(this.states.viewAsync(namespace, service))
                .thenAccept((view) -> resolution.resolveIn(view, readStart))
                .exceptionally((failure) -> {
                    resolution.end(null, failure);
                    return null;
                });
        }
        return resolution;
    }

    /** A routing decision: the pod and how it was reached. */
    private record Routed(int podIndex, RouteOutcome outcome) {
    }

    /**
     * One routing call that needs Redis: the future its caller holds, and the step that
     * decides on the reply of the usual path's one Redis call. Being both, a new user costs one
     * future stage here where a chain of thenCompose and handle cost two, a completed future
     * and two lambdas. Completing our stages was an eighth of the I/O thread that every async
     * call completes on (JFR, 50 calls in flight; the cache write aside).
     */
    private final class Resolution extends CompletableFuture<Integer> implements BiConsumer<LinkInfo, Throwable> {

        private final Object token;

        private final String namespace;

        private final String uid;

        private final String service;

        private final Continuation steps;

        private final long started;

        // Set before the Redis call and read when its reply comes: the future's completion
        // orders the two.
        private ServiceView view;

        private int candidate;

        private long readStart;

        Resolution(String namespace, String uid, String service, Continuation steps) {
            this.namespace = namespace;
            this.uid = uid;
            this.service = service;
            this.steps = steps;
            this.token = StatefulRouteForClientDriver.this.listener.resolving(namespace, uid, service);
            this.started = System.nanoTime();
        }

        /**
         * Links the user to the best routable pod unless linked; the reply comes to
         * {@link #accept}. While cached links are distrusted (notices or writes may have been
         * lost), a user still cached with an available pod is offered that pod instead: if Redis
         * lost the link, the user goes back to the pod that holds it, not to a new one.
         */
        void resolveIn(ServiceView view, long readStart) {
            PodState best = StatefulRouteForClientDriver.this.routeInfo.select(view);
            if (best == null) {
                linkedAvailablePod(view, this.uid, readStart, this.steps).whenComplete(this::end);
                return;
            }
            this.view = view;
            this.candidate = (listening && !noticesTrusted)
                    ? distrustedCachedPod(view, this.namespace, this.uid, this.service, best.podIndex()) : best.podIndex();
            this.readStart = readStart;
            this.steps.after(StatefulRouteForClientDriver.this.executor.setLinkedPodIfAbsentAsync(this.namespace,
                    this.uid, this.service, this.candidate, StatefulRouteForClientDriver.this.temporaryLinkSeconds))
                .whenComplete(this);
        }

        /** The link-if-absent reply. */
        @Override
        public void accept(LinkInfo link, Throwable failure) {
            if (failure != null) {
                end(null, failure);
                return;
            }
            Routed routed;
            try {
                if (!link.created() && !this.view.isAvailable(link.podIndex())) {
                    relinkIfGone(this.view, this.uid, link, this.candidate, this.readStart, this.steps)
                        .whenComplete(this::end);
                    return;
                }
                if (link.created()) {
                    this.view.placed(link.podIndex());
                }
                routed = new Routed(cache(this.namespace, this.uid, this.service, link, this.readStart),
                        link.created() ? RouteOutcome.NEW_LINK : RouteOutcome.EXISTING_LINK);
            }
            catch (RuntimeException ex) {
                end(null, ex);
                return;
            }
            end(routed, null);
        }

        /** The listener hears how the call ended, then the caller. */
        void end(Routed routed, Throwable failure) {
            try {
                complete(observed(routed, failure));
            }
            catch (CompletionException ex) {
                completeExceptionally(ex);
            }
            catch (RuntimeException ex) {
                completeExceptionally(new CompletionException(ex));
            }
        }

        /** Tells the listener how the call ended: the pod, or the failure thrown. */
        private int observed(Routed routed, Throwable failure) {
            RouteListener listener = StatefulRouteForClientDriver.this.listener;
            long nanos = System.nanoTime() - this.started;
            if (failure == null) {
                listener.resolved(this.token, this.namespace, this.service, routed.outcome(), nanos, null);
                return routed.podIndex();
            }
            Throwable cause = (failure instanceof CompletionException && failure.getCause() != null)
                    ? failure.getCause() : failure;
            listener.resolved(this.token, this.namespace, this.service, (cause instanceof NoRoutablePodException)
                    ? RouteOutcome.NO_ROUTABLE_POD : RouteOutcome.ERROR, nanos, cause);
            throw (cause instanceof RuntimeException runtime) ? runtime : new CompletionException(cause);
        }
    }

    /** The pod a distrusted cache entry links the user to, if that pod is available; else {@code best}. */
    private int distrustedCachedPod(ServiceView view, String namespace, String uid, String service, int best) {
        CachedLink userLinks = this.links.get(uid);
        CachedLink cached = (userLinks != null) ? userLinks.find(namespace, service) : null;
        return (cached != null && view.isAvailable(cached.podIndex)) ? cached.podIndex : best;
    }

    /**
     * No pod takes new users (none is routable, or all are full): an existing link to a pod that
     * still serves its users is all we can return.
     */
    private CompletableFuture<Routed> linkedAvailablePod(ServiceView view, String uid, long readStart,
            Continuation steps) {
        String namespace = view.namespace();
        String service = view.service();
        if (!view.hasAvailablePod()) {
            // e.g. a service that does not exist: no link can be honoured, so no Redis read
            return CompletableFuture.failedFuture(this.routeInfo.noPodFor(view));
        }
        return steps.after(this.executor.getLinkAsync(namespace, uid, service)).thenApply((link) -> {
            if (link.isPresent() && view.isAvailable(link.get().podIndex())) {
                return new Routed(cache(namespace, uid, service, link.get(), readStart), RouteOutcome.EXISTING_LINK);
            }
            throw this.routeInfo.noPodFor(view);
        });
    }

    /**
     * The user is linked to a pod this view does not consider available. A pod this view has
     * never seen may simply be newer than the view, and a view older than half the relink grace
     * may miss a heartbeat, so re-read the service before moving the user. A pod that shut down
     * loses the user at once; a silent one (dead, or with its entry missing) only once its lease
     * has certainly lapsed (pod expiry plus relink grace), so that it learns of the loss before
     * anyone else takes the user. Until then the user stays routed to its pod. The move is
     * fenced by the view's age: one that would land after the pod could have confirmed its users
     * again is refused, and the user stays routed to its pod until the next call decides anew.
     */
    private CompletableFuture<Routed> relinkIfGone(ServiceView view, String uid, LinkInfo link, int candidate,
            long readStart, Continuation steps) {
        String namespace = view.namespace();
        String service = view.service();
        int linked = link.podIndex();
        CompletableFuture<ServiceView> current = (view.pod(linked) == null || view.isTooOldToRelink(linked))
                ? steps.after(this.states.reloadAsync(namespace, service)) : CompletableFuture.completedFuture(view);
        return current.thenCompose((fresh) -> {
            if (fresh.isAvailable(linked) || !fresh.mayRelinkFrom(linked)) {
                return CompletableFuture.completedFuture(
                        new Routed(cache(namespace, uid, service, link, readStart), RouteOutcome.EXISTING_LINK));
            }
            int target = fresh.isRoutable(candidate) ? candidate : bestOrFail(fresh);
            return steps.after(this.executor.compareAndSetLinkedPodAsync(namespace, uid, service, linked, target,
                    this.temporaryLinkSeconds, fresh.relinkFence(linked)))
                .handle((moved, failure) -> {
                    if (failure == null) {
                        if (moved.created()) {
                            fresh.placed(moved.podIndex());
                        }
                        return new Routed(cache(namespace, uid, service, moved, readStart),
                                moved.created() ? RouteOutcome.RELINKED : RouteOutcome.EXISTING_LINK);
                    }
                    Throwable cause = (failure instanceof CompletionException && failure.getCause() != null)
                            ? failure.getCause() : failure;
                    if (cause instanceof FencedWriteException) {
                        return new Routed(linked, RouteOutcome.EXISTING_LINK);
                    }
                    throw (cause instanceof RuntimeException runtime) ? runtime : new CompletionException(cause);
                });
        });
    }

    private int bestOrFail(ServiceView view) {
        PodState best = this.routeInfo.select(view);
        if (best == null) {
            throw this.routeInfo.noPodFor(view);
        }
        return best.podIndex();
    }

    /**
     * Caches a link read from Redis at {@code readStart}, unless a change notice for the user
     * arrived since: then the read may predate the change, and caching it would undo the
     * notice (checked inside the user's atomic update, which a notice's eviction also takes).
     * Nor when notices were reported possibly lost since: the read may have missed a change, or
     * gone untracked (a tracking connection that reconnected under it).
     *
     * <p>A link created here that no notice would follow (client tracking follows links this
     * client read, not those it wrote: {@link StatefulExecutor#hearsOfChangesToCreatedLinks})
     * is not cached: the user's next call reads it, tracked, and caches it, so no cached link
     * ever goes unfollowed. Most new users never come back; the cache stays free of them, as it
     * does once full.
     *
     * <p>Admission: a link created for a user seen for the first time is cached only while
     * the cache has room. A full cache keeps its users, and the new user costs nothing more
     * than its Redis call; if the user comes back, that read is cached and Caffeine's
     * W-TinyLFU decides whom it replaces. So a burst of one-visit users neither evicts the
     * regulars nor makes each new user pay for an eviction.
     */
    private int cache(String namespace, String uid, String service, LinkInfo link, long readStart) {
        long now = System.nanoTime();
        sweepSome(now);
        if ((link.created() && (this.cache.estimatedSize() >= this.options.cacheMaximumSize()
                || (this.listening && !this.executor.hearsOfChangesToCreatedLinks())))
                || readStart - this.noticesLostAtNanos < 0) {
            return link.podIndex();
        }
        long lifetimeNanos = maxLifetimeNanos(link, readStart, now);
        this.links.compute(uid, (key, userLinks) -> {
            Long changedAt = this.recentChanges.getIfPresent(uid);
            if (changedAt != null && changedAt - readStart >= 0) {
                return userLinks;
            }
            return put(userLinks, namespace, service, link.podIndex(), now, lifetimeNanos);
        });
        this.maintenance.written();
        return link.podIndex();
    }

    private CachedLink put(CachedLink userLinks, String namespace, String service, int podIndex, long nowNanos,
            long lifetimeNanos) {
        noteCached(nowNanos + Math.min(lifetimeNanos, this.cacheTtlNanos));
        return (userLinks == null) ? new CachedLink(namespace, service, podIndex, nowNanos, lifetimeNanos, null)
                : userLinks.with(namespace, service, podIndex, nowNanos, lifetimeNanos, this.cacheTtlNanos,
                        this.renewOnAccess);
    }

    /**
     * Drops the users none of whose links answers any more, checking the next
     * {@value #SWEPT_PER_WRITE} entries of a walk over the cache that starts again at its end.
     * Runs with every write (a call that read Redis), so links past their time cannot pile up
     * faster than the cache is written; a write that finds another sweeping skips it. Between
     * the end of a walk and the first moment a cached link can end, there is nothing to find,
     * and writes skip the sweep: JFR put a tenth of the I/O thread's time in it while new users
     * streamed past a full cache of live links.
     */
    private void sweepSome(long nowNanos) {
        if (nowNanos - this.sweepNotBefore.get() < 0 || !this.sweeping.tryLock()) {
            return;
        }
        try {
            for (int i = 0; i < SWEPT_PER_WRITE; i++) {
                if (this.sweep == null) {
                    this.sweep = this.links.entrySet().iterator();
                }
                if (!this.sweep.hasNext()) {
                    restAfterWalk();
                    return;
                }
                Map.Entry<String, CachedLink> entry = this.sweep.next();
                CachedLink userLinks = entry.getValue();
                long end = userLinks.lastEndNanos(this.cacheTtlNanos, this.renewOnAccess);
                if (nowNanos - end < 0) {
                    this.walkEarliestEnd = earlier(this.walkEarliestEnd, end);
                }
                else if (this.links.remove(entry.getKey(), userLinks)) {
                    this.stats.recordEviction(userLinks.count(), RemovalCause.EXPIRED);
                }
            }
        }
        finally {
            this.sweeping.unlock();
        }
    }

    /**
     * A walk is over: the next starts when the first link it saw or that was cached since can
     * end. Links cached from here on lower that time themselves ({@link #noteCached}).
     */
    private void restAfterWalk() {
        long end = earlier(this.walkEarliestEnd, this.cachedEarliestEnd.getAndSet(NO_END));
        this.sweepNotBefore.set(end);
        this.sweepNotBefore.accumulateAndGet(this.cachedEarliestEnd.get(), StatefulRouteForClientDriver::earlier);
        this.walkEarliestEnd = NO_END;
        this.sweep = null;
    }

    /** Lowers both times to {@code endNanos}; a link ending later than both, the usual case, writes nothing. */
    private void noteCached(long endNanos) {
        lowerTo(this.cachedEarliestEnd, endNanos);
        lowerTo(this.sweepNotBefore, endNanos);
    }

    private static void lowerTo(AtomicLong time, long endNanos) {
        long current = time.get();
        if (earlier(current, endNanos) != current) {
            time.accumulateAndGet(endNanos, StatefulRouteForClientDriver::earlier);
        }
    }

    /** The earlier of two {@link System#nanoTime()} instants, either of which may be {@link #NO_END}. */
    private static long earlier(long a, long b) {
        if (a == NO_END) {
            return b;
        }
        return (b == NO_END || a - b < 0) ? a : b;
    }

    /** Drops one cached link of a user; whether one was cached. */
    private boolean evict(String namespace, String uid, String service) {
        boolean[] dropped = new boolean[1];
        this.links.computeIfPresent(uid, (key, userLinks) -> {
            dropped[0] = userLinks.find(namespace, service) != null;
            return userLinks.without(namespace, service, System.nanoTime(), this.cacheTtlNanos, this.renewOnAccess);
        });
        return dropped[0];
    }

    /**
     * Whether a cached link is too old to trust while notices may be lost. Not while Redis is
     * unreachable: no link can change then, and re-reading would only fail; the first probe
     * that comes back afterwards clears the cache.
     */
    private boolean isDistrusted(CachedLink cached, long nowNanos) {
        return this.listening && !this.noticesTrusted && nowNanos - cached.cachedAtNanos > this.fallbackTtlNanos
                && !this.states.isRedisUnavailable();
    }

    // ---- look-ups

    /** The user's linked pod: from the cache, else from Redis (and then cached). Creates nothing. */
    public OptionalInt getLinkedPod(String namespace, String uid, String service) {
        OptionalInt cached = getLinkedInCache(namespace, uid, service);
        return cached.isPresent() ? cached : this.executor.await(getLinkedPodNotCacheAsync(namespace, uid, service));
    }

    /** Non-blocking form of {@link #getLinkedPod}. */
    public CompletableFuture<OptionalInt> getLinkedPodAsync(String namespace, String uid, String service) {
        OptionalInt cached = getLinkedInCache(namespace, uid, service);
        return cached.isPresent() ? CompletableFuture.completedFuture(cached)
                : getLinkedPodNotCacheAsync(namespace, uid, service);
    }

    /** The user's linked pod read from Redis, bypassing (but refreshing) the cache. */
    public OptionalInt getLinkedPodNotCache(String namespace, String uid, String service) {
        return this.executor.await(getLinkedPodNotCacheAsync(namespace, uid, service));
    }

    /** Non-blocking form of {@link #getLinkedPodNotCache}. */
    public CompletableFuture<OptionalInt> getLinkedPodNotCacheAsync(String namespace, String uid, String service) {
        long readStart = System.nanoTime();
        return this.executor.getLinkAsync(namespace, uid, service)
            .thenApply((link) -> link.isPresent() ? OptionalInt.of(cache(namespace, uid, service, link.get(), readStart))
                    : OptionalInt.empty());
    }

    /** The cached pod, if any, without calling Redis. */
    public OptionalInt getLinkedInCache(String namespace, String uid, String service) {
        CachedLink cached = trustedCachedLink(namespace, uid, service, System.nanoTime());
        return (cached != null) ? OptionalInt.of(cached.podIndex) : OptionalInt.empty();
    }

    /** The cached pod, else the linked pod from Redis only if that link is persistent. */
    public OptionalInt getLinkedPodInCacheOrIfPersist(String namespace, String uid, String service) {
        OptionalInt cached = getLinkedInCache(namespace, uid, service);
        if (cached.isPresent()) {
            return cached;
        }
        long readStart = System.nanoTime();
        return this.executor.await(this.executor.getLinkAsync(namespace, uid, service))
            .filter(LinkInfo::persistent)
            .map((link) -> OptionalInt.of(cache(namespace, uid, service, link, readStart)))
            .orElse(OptionalInt.empty());
    }

    /** Every service the user is linked to, with its pod, from Redis (see {@link StatefulExecutor#getLinkServiceAsync}). */
    public Map<String, Integer> getLinkService(String namespace, String uid) {
        return this.executor.getLinkService(namespace, uid);
    }

    /** Non-blocking form of {@link #getLinkService}. */
    public CompletableFuture<Map<String, Integer>> getLinkServiceAsync(String namespace, String uid) {
        return this.executor.getLinkServiceAsync(namespace, uid);
    }

    /** The linked pods of many users, pipelined: pod to its users; unlinked users are absent. */
    public Map<Integer, List<String>> batchGetLinkedPod(String namespace, Collection<String> uids, String service) {
        return this.executor.batchGetLinkedPod(namespace, uids, service);
    }

    /** Non-blocking form of {@link #batchGetLinkedPod}. */
    public CompletableFuture<Map<Integer, List<String>>> batchGetLinkedPodAsync(String namespace,
            Collection<String> uids, String service) {
        return this.executor.batchGetLinkedPodAsync(namespace, uids, service);
    }

    /**
     * Links the user to the given pod (temporarily) unless a live link exists, and caches the
     * result.
     * @return the linked pod: the existing one or {@code podIndex}
     */
    public int setLinkedPodIfAbsent(String namespace, String uid, String service, int podIndex) {
        requireLocal(namespace);
        long readStart = System.nanoTime();
        LinkInfo link = this.executor.setLinkedPodIfAbsent(namespace, uid, service, podIndex,
                this.temporaryLinkSeconds);
        return cache(namespace, uid, service, link, readStart);
    }

    // ---- cache control

    /** Drops the cached link, so the next call reads Redis. */
    public void cacheExpired(String namespace, String uid, String service) {
        requireId("namespace", namespace);
        requireId("uid", uid);
        requireId("service", service);
        evict(namespace, uid, service);
    }

    /**
     * Caches a link learned elsewhere (e.g. from a pod's reply) whose remaining life in Redis
     * is unknown: it could be a temporary link about to expire, so it stays cached for at most
     * the fallback cache TTL and is never renewed on access. Pass the {@link LinkInfo} when
     * the remaining life is known.
     */
    public void setCache(String namespace, String uid, String service, int podIndex) {
        putCache(namespace, uid, service, podIndex, System.nanoTime(),
                Math.min(this.cacheTtlNanos, this.fallbackTtlNanos));
    }

    /**
     * Caches a link learned elsewhere with its remaining life in Redis as of {@code readAt}
     * (a {@link System#nanoTime()} reading taken before the link was read): the entry never
     * outlives that Redis link, whatever the cache expiry policy.
     */
    public void setCache(String namespace, String uid, String service, LinkInfo link, long readAt) {
        RouteArguments.requireNonNull("link", link);
        long now = System.nanoTime();
        putCache(namespace, uid, service, link.podIndex(), now, maxLifetimeNanos(link, readAt, now));
    }

    private void putCache(String namespace, String uid, String service, int podIndex, long now, long lifetimeNanos) {
        requireId("namespace", namespace);
        requireId("uid", uid);
        requireId("service", service);
        RouteArguments.requirePodIndex("podIndex", podIndex);
        this.links.compute(uid, (key, userLinks) -> put(userLinks, namespace, service, podIndex, now, lifetimeNanos));
    }

    /**
     * The longest a link may stay cached from {@code now}: unbounded when persistent (a write
     * that shortens it publishes a change notice), else its remaining life counted from
     * before the read, so the entry ends no later than the Redis link does.
     */
    private static long maxLifetimeNanos(LinkInfo link, long readStart, long now) {
        return link.persistent() ? Long.MAX_VALUE
                : Math.max(0, link.remainingMillis() * 1_000_000 - (now - readStart));
    }

    // ---- link change notices

    /**
     * Starts following link change notices (needs an executor with a pub/sub connection).
     * Until the first probe comes back through {@link #checkLinkChanges()}, cached links older
     * than the fallback TTL are re-read. Idempotent.
     */
    public synchronized void listenForLinkChanges() {
        if (this.subscription == null) {
            this.subscription = this.executor.subscribeLinkChanges(new Notices());
            this.listening = true;
        }
    }

    /**
     * Checks that notices still arrive: if the previous probe has not come back, notices may
     * be lost, so old cache entries are distrusted until one does; then sends a new probe. A
     * probe Redis took less than 250 ms before is left pending for the next check to judge.
     * Also checks whether Redis may have lost writes since the last check (its identity
     * changed: a restart, a failover), and distrusts old entries the same way then. Call it on
     * a period (the starter does, with the state refresh); the period bounds how long a silent
     * loss of notices or of writes can go unnoticed.
     */
    public CompletableFuture<Void> checkLinkChanges() {
        if (!this.listening) {
            return CompletableFuture.completedFuture(null);
        }
        if (this.pendingProbe != null && this.pendingProbePublished) {
            if (System.nanoTime() - this.pendingProbePublishedAtNanos < PROBE_GRACE_NANOS) {
                return CompletableFuture.completedFuture(null);
            }
            if (this.noticesTrusted) {
                this.noticesTrusted = false;
                logger.warn("Link change notices stopped arriving; cached links older than {} are re-read from Redis",
                        this.options.fallbackCacheTtl());
            }
        }
        String probe = UUID.randomUUID().toString();
        this.pendingProbePublished = false;
        this.pendingProbe = probe;
        // the probe after the identity: a probe back before a change of Redis is seen would clear the cache
        return this.executor.redisIdentityAsync().handle((identity, failure) -> {
            redisIdentityRead(identity, failure);
            return null;
        }).thenCompose((read) -> this.executor.publishLinkProbeAsync(probe)).thenRun(() -> {
            if (probe.equals(this.pendingProbe)) {
                this.pendingProbePublishedAtNanos = System.nanoTime();
                this.pendingProbePublished = true;
            }
        });
    }

    /**
     * Redis' identity changed: links written just before (and their notices) may be lost, so
     * cached links are re-read as after a gap in notices; a user whose link Redis lost is linked
     * again to the pod it was cached with (see {@link Resolution#resolveIn}), which holds it.
     */
    private void redisIdentityRead(String current, Throwable failure) {
        if (failure != null) {
            logger.debug("Could not read the Redis identity: {}", failure.getMessage());
            return;
        }
        String before = this.redisIdentity;
        this.redisIdentity = current;
        if (before != null && !before.equals(current)) {
            // pods check their links at their next heartbeat: until then, a cached link is the best
            // hint of who holds a user whose link was lost, so no probe clears the cache before
            this.keepCachedPodsUntilNanos = System.nanoTime() + this.states.relinkGrace().toNanos();
            this.noticesTrusted = false;
            logger.warn("Redis may have lost writes (was [{}], now [{}]); cached links older than {} are re-read from "
                    + "Redis until a probe comes back, and a user whose link is gone goes back to its cached pod",
                    before, current, this.options.fallbackCacheTtl());
        }
    }

    /** Whether link change notices are known to arrive, so cached links are trusted for their full TTL. */
    public boolean isFollowingLinkChanges() {
        return this.listening && this.noticesTrusted;
    }

    /** Stops following link change notices. */
    public synchronized void stopListeningForLinkChanges() {
        this.listening = false;
        this.noticesTrusted = false;
        if (this.subscription != null) {
            try {
                this.subscription.close();
            }
            catch (Exception ex) {
                logger.debug("Closing the link change subscription failed", ex);
            }
            this.subscription = null;
        }
    }

    private final class Notices implements LinkChangeListener {

        @Override
        public void linkChanged(String namespace, String uid, String service) {
            recentChanges.put(uid, System.nanoTime());
            noticesReceived.increment();
            if (evict(namespace, uid, service)) {
                noticesEvicting.increment();
            }
        }

        @Override
        public void probeReceived(String token) {
            if (token.equals(pendingProbe)) {
                pendingProbe = null;
                if (!noticesTrusted && System.nanoTime() - keepCachedPodsUntilNanos >= 0) {
                    // whatever changed while notices were lost is unknown: start over
                    cache.invalidateAll();
                    noticesTrusted = true;
                    logger.info("Link change notices arrive; cached links are kept for their full TTL");
                }
            }
        }

        /**
         * Notices sent while the subscription was down are lost: stop trusting old cache
         * entries until a probe comes back (which clears the cache). Not an immediate clear:
         * the subscription often returns before the command connection, and re-reading every
         * link then would fail calls that the cache could still answer.
         */
        @Override
        public void subscribed() {
            noticesLostAtNanos = System.nanoTime();
            if (noticesTrusted) {
                noticesTrusted = false;
                logger.info("Link change notices resubscribed; cached links older than {} are re-read until a probe "
                        + "comes back", options.fallbackCacheTtl());
            }
        }
    }

    /** Link change notices received so far, and how many of them dropped a cached link. */
    public LinkNoticeStats noticeStats() {
        return new LinkNoticeStats(this.noticesReceived.sum(), this.noticesEvicting.sum());
    }

    /** Statistics of the local link cache. */
    public LinkCacheStats cacheStats() {
        this.maintenance.runPending();
        CacheStats stats = this.stats.snapshot();
        long size = this.cache.policy().eviction().map((eviction) -> eviction.weightedSize().orElse(0)).orElse(0L);
        return new LinkCacheStats(size, stats.hitCount(), stats.missCount(), stats.evictionCount());
    }

    /**
     * The Caffeine cache of links, for binding its statistics to a metrics registry: one entry
     * per user, weighed by its links; hits and misses count link look-ups.
     */
    public Cache<?, ?> nativeCache() {
        return this.cache;
    }

    /** The settings of this client. */
    public ClientOptions options() {
        return this.options;
    }

    /** The routing decisions this client uses. */
    public RouteInfoDriver routeInfo() {
        return this.routeInfo;
    }

    private void requireLocal(String namespace) {
        requireId("namespace", namespace);
        if (!namespace.equals(this.options.localNamespace())) {
            throw new ForeignNamespaceException(namespace, this.options.localNamespace());
        }
    }
}
