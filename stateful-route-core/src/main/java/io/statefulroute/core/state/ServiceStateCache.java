package io.statefulroute.core.state;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.redis.SkippedEntries;
import io.statefulroute.core.redis.StatefulExecutor;

/**
 * A periodically refreshed in-memory view of the pod states of the services this process
 * routes to. The first use of a service loads it from Redis; {@link #refreshAsync()} (called
 * on a period by whoever schedules it) re-reads every tracked service in one pipelined batch,
 * one round trip per service. Each read is compared with the one before, and pod changes (up,
 * down, draining, ready, shutdown, load moved) go to the registered {@link PodStateListener}s;
 * the first read of a service is the baseline and reports none.
 *
 * <p>Bounded whatever names callers send: only a service that exists (has a pod entry in
 * Redis) or that the application asked to {@linkplain #keepInView keep in view} is tracked,
 * i.e. kept, refreshed and reported. At most {@code maxServices} are tracked; a new one
 * evicts the one least recently used if that one was not used since the last refresh, else it
 * is not tracked. A service that is not tracked (unknown, or beyond the cap) is answered from a
 * short-lived, size-bounded cache of its last read, so each such name costs at most one Redis
 * read per {@code untrackedTtl} while it is asked for, and nothing once it is not.
 */
public final class ServiceStateCache {

    private static final Logger logger = LoggerFactory.getLogger(ServiceStateCache.class);

    private final StatefulExecutor executor;

    /** Same default as the server side's {@code ServerOptions.DEFAULT_RELINK_GRACE}. */
    public static final Duration DEFAULT_RELINK_GRACE = Duration.ofSeconds(2);

    private final long podExpiryMillis;

    private final long relinkGraceMillis;

    /** Most untracked services remembered at once; each costs a few hundred bytes plus its names. */
    static final int MAX_UNTRACKED = 10_000;

    /** namespace -> service -> tracked service; nested so that lookups build no composite key. */
    private final ConcurrentHashMap<String, ConcurrentHashMap<String, Tracked>> tracked = new ConcurrentHashMap<>();

    private final Object tracking = new Object();

    private int trackedCount;

    private final int maxServices;

    /** Last read of services that are not tracked: the negative cache of unknown names. */
    private final Cache<List<String>, ServiceView> untracked;

    /** Counts refreshes, the clock "least recently used" is judged by. */
    private volatile long refreshCycle;

    private final ConcurrentHashMap<List<String>, CompletableFuture<ServiceView>> loading = new ConcurrentHashMap<>();

    private final LongAdder hits = new LongAdder();

    private final LongAdder misses = new LongAdder();

    private final AtomicLong refreshes = new AtomicLong();

    private final AtomicLong refreshFailures = new AtomicLong();

    private volatile Instant lastRefresh;

    private final List<PodStateListener> listeners = new CopyOnWriteArrayList<>();

    /** What the last read showed of each pod, per service: namespace -> service -> pod -> observation. */
    private final Map<List<String>, Map<Integer, Observation>> observations = new HashMap<>();

    private volatile double loadChangeThreshold = Double.POSITIVE_INFINITY;

    private final OutageClock clock = new OutageClock();

    private volatile Duration lastRefreshDuration = Duration.ZERO;

    /** A cache whose relink grace is {@link #DEFAULT_RELINK_GRACE}, tracking at most {@value #DEFAULT_MAX_SERVICES} services. */
    public ServiceStateCache(StatefulExecutor executor, Duration podExpiry) {
        this(executor, podExpiry, DEFAULT_RELINK_GRACE);
    }

    /** Default of the most services tracked at once. */
    public static final int DEFAULT_MAX_SERVICES = 1000;

    /**
     * A cache tracking at most {@value #DEFAULT_MAX_SERVICES} services, untracked ones
     * remembered for 1 s.
     * @param podExpiry how long after its last heartbeat (on Redis' clock) a pod is dead
     * @param relinkGrace how much longer a dead pod's users stay linked to it: its lease lapsed
     * by then, whatever the clock drift, so it knows it lost them before they move; a view older
     * than the grace is re-read before it moves anyone
     */
    public ServiceStateCache(StatefulExecutor executor, Duration podExpiry, Duration relinkGrace) {
        this(executor, podExpiry, relinkGrace, DEFAULT_MAX_SERVICES, Duration.ofSeconds(1));
    }

    /**
     * @param podExpiry how long after its last heartbeat (on Redis' clock) a pod is dead
     * @param relinkGrace see {@link #ServiceStateCache(StatefulExecutor, Duration, Duration)}
     * @param maxServices most services tracked (kept, refreshed, reported) at once
     * @param untrackedTtl how long the read of a service that is not tracked (e.g. an unknown
     * name) answers look-ups before it is read again; typically the refresh period
     */
    public ServiceStateCache(StatefulExecutor executor, Duration podExpiry, Duration relinkGrace, int maxServices,
            Duration untrackedTtl) {
        this.executor = RouteArguments.requireNonNull("executor", executor);
        if (podExpiry == null || podExpiry.isNegative() || podExpiry.isZero()) {
            throw new InvalidRouteArgumentException("podExpiry", "must be a positive duration");
        }
        if (relinkGrace == null || relinkGrace.isNegative()) {
            throw new InvalidRouteArgumentException("relinkGrace", "must be zero or a positive duration");
        }
        if (maxServices < 1) {
            throw new InvalidRouteArgumentException("maxServices", maxServices + " must be >= 1");
        }
        if (untrackedTtl == null || untrackedTtl.isNegative() || untrackedTtl.isZero()) {
            throw new InvalidRouteArgumentException("untrackedTtl", "must be a positive duration");
        }
        this.podExpiryMillis = podExpiry.toMillis();
        this.relinkGraceMillis = relinkGrace.toMillis();
        this.maxServices = maxServices;
        this.untracked = Caffeine.newBuilder()
            .executor(Runnable::run)
            .maximumSize(MAX_UNTRACKED)
            .expireAfterWrite(untrackedTtl)
            .build();
    }

    /** The pod's users move no sooner than this after it died (see {@link ServiceView#mayRelinkFrom}). */
    public Duration relinkGrace() {
        return Duration.ofMillis(this.relinkGraceMillis);
    }

    /**
     * The cached view of a service, or null if this process has not loaded it (or, for a
     * service it does not track, not within the untracked TTL). Never calls Redis.
     */
    public ServiceView cachedView(String namespace, String service) {
        Tracked entry = trackedEntry(namespace, service);
        if (entry != null) {
            entry.used(this.refreshCycle);
        }
        ServiceView view = storedView(entry, namespace, service);
        if (view != null) {
            this.hits.increment();
        }
        return view;
    }

    /**
     * Tracks the service from now on even while it has no pod (so gauges and the analyzer
     * report it as down): for the services the application is configured to route to. Counts
     * towards the cap, and is never evicted.
     */
    public void keepInView(String namespace, String service) {
        RouteArguments.requireId("namespace", namespace);
        RouteArguments.requireId("service", service);
        synchronized (this.tracking) {
            Tracked entry = trackedEntry(namespace, service);
            if (entry != null) {
                entry.kept = true;
                return;
            }
            ServiceView last = this.untracked.getIfPresent(List.of(namespace, service));
            Tracked kept = new Tracked(true, this.refreshCycle,
                    (last != null) ? last.placements() : new RecentPlacements(this.podExpiryMillis));
            kept.view = last;
            add(namespace, service, kept);
        }
    }

    /** Whether the service is tracked: kept in memory, refreshed, and reported in {@link #views()}. */
    public boolean isTracked(String namespace, String service) {
        return trackedEntry(namespace, service) != null;
    }

    private Tracked trackedEntry(String namespace, String service) {
        Map<String, Tracked> services = this.tracked.get(namespace);
        return (services != null) ? services.get(service) : null;
    }

    /** A service kept in memory: its latest view, whether the application asked for it, when it was last used. */
    private static final class Tracked {

        volatile ServiceView view;

        volatile boolean kept;

        volatile long lastUsedCycle;

        /** Pods of the service whose entries went missing, for as long as the service is tracked. */
        final AbsentPods absent = new AbsentPods();

        /** New users this process placed on the service's pods lately, counted across views. */
        final RecentPlacements placements;

        Tracked(boolean kept, long cycle, RecentPlacements placements) {
            this.kept = kept;
            this.lastUsedCycle = cycle;
            this.placements = placements;
        }

        /** Writes only when the cycle moved, so concurrent look-ups do not contend on the field. */
        void used(long cycle) {
            if (this.lastUsedCycle != cycle) {
                this.lastUsedCycle = cycle;
            }
        }
    }

    /** The view of a service, loading it from Redis on first use. */
    public CompletableFuture<ServiceView> viewAsync(String namespace, String service) {
        ServiceView view = cachedView(namespace, service);
        return (view != null) ? CompletableFuture.completedFuture(view) : load(namespace, service);
    }

    /** Blocking form of {@link #viewAsync}. */
    public ServiceView view(String namespace, String service) {
        ServiceView view = cachedView(namespace, service);
        return (view != null) ? view : this.executor.await(load(namespace, service));
    }

    /** Re-reads one service now, e.g. when a link names a pod this view does not know yet. */
    public CompletableFuture<ServiceView> reloadAsync(String namespace, String service) {
        return read(namespace, service);
    }

    /** The view kept for the service ({@code tracked}: its entry, if tracked), counting nothing. */
    private ServiceView storedView(Tracked tracked, String namespace, String service) {
        return (tracked != null) ? tracked.view : this.untracked.getIfPresent(List.of(namespace, service));
    }

    private CompletableFuture<ServiceView> load(String namespace, String service) {
        RouteArguments.requireId("namespace", namespace);
        RouteArguments.requireId("service", service);
        this.misses.increment();
        List<String> key = List.of(namespace, service);
        // A load that ended between the caller's look at the cache and here has left its view
        // there (stored before its future completes and leaves this map): no second read.
        CompletableFuture<ServiceView> pending = this.loading.computeIfAbsent(key, (k) -> {
            ServiceView loaded = storedView(trackedEntry(namespace, service), namespace, service);
            return (loaded != null) ? CompletableFuture.completedFuture(loaded) : read(namespace, service);
        });
        pending.whenComplete((view, ex) -> this.loading.remove(key, pending));
        return pending;
    }

    private CompletableFuture<ServiceView> read(String namespace, String service) {
        return this.executor.getServiceStateAsync(namespace, service).thenApply((state) -> {
            // an answer proves Redis is back: end the outage before judging what was read,
            // so heartbeats from before it get the outage's length back
            if (this.clock.thaw()) {
                logger.info("Redis answers again; pod states are fresh");
            }
            this.clock.answered();
            Tracked seen = trackedEntry(namespace, service);
            ServiceView before = (seen != null) ? seen.view : null;
            AbsentPods absent = (seen != null) ? seen.absent : new AbsentPods();
            absent.observed((before != null) ? before.state() : null, state);
            RecentPlacements placements = (seen != null) ? seen.placements : untrackedPlacements(namespace, service);
            ServiceView view = new ServiceView(newestHeartbeats(state, before), this.podExpiryMillis,
                    this.relinkGraceMillis, this.clock, absent, placements);
            if (keep(namespace, service, view)) {
                detectChanges(view);
            }
            else {
                this.untracked.put(List.of(namespace, service), view);
            }
            return view;
        });
    }

    /** The placements the last read of a service that is not tracked counted, so that a new read keeps them. */
    private RecentPlacements untrackedPlacements(String namespace, String service) {
        ServiceView last = this.untracked.getIfPresent(List.of(namespace, service));
        return (last != null) ? last.placements() : new RecentPlacements(this.podExpiryMillis);
    }

    /**
     * A pod's heartbeat time never goes back unless Redis lost writes: a failover to a replica
     * that had not received them (a Sentinel failover of a running master discards what the old
     * master took meanwhile). The pod did heartbeat when it was seen, so the newer entry seen is
     * kept as a whole until the pod's next heartbeat reaches the new primary: with the older
     * time the pod would look dead and its users be moved, with the older state a drain the
     * primary lost would be undone.
     */
    private static ServiceState newestHeartbeats(ServiceState read, ServiceView seen) {
        if (seen == null) {
            return read;
        }
        List<PodState> pods = null;
        for (int i = 0; i < read.pods().size(); i++) {
            PodState pod = read.pods().get(i);
            PodState before = seen.pod(pod.podIndex());
            if (before != null && before.updateTimeMillis() > pod.updateTimeMillis()) {
                if (pods == null) {
                    pods = new ArrayList<>(read.pods());
                }
                pods.set(i, before);
            }
        }
        return (pods == null) ? read
                : new ServiceState(read.namespace(), read.service(), read.readTimeMillis(), pods, read.unreadablePods());
    }

    /**
     * Stores the view of a tracked service, starts tracking a service that exists if there is
     * room, and stops tracking one that no longer exists (unless kept in view).
     * @return whether the service is tracked now
     */
    private boolean keep(String namespace, String service, ServiceView view) {
        boolean exists = !view.pods().isEmpty();
        Tracked entry = trackedEntry(namespace, service);
        if (entry != null && (exists || entry.kept)) {
            entry.view = view;
            return true;
        }
        if (entry == null && !exists) {
            return false;
        }
        synchronized (this.tracking) {
            entry = trackedEntry(namespace, service);
            if (entry != null) {
                if (exists || entry.kept) {
                    entry.view = view;
                    return true;
                }
                remove(namespace, service);
                return false;
            }
            if (this.trackedCount >= this.maxServices && !evictIdle()) {
                return false;
            }
            Tracked added = new Tracked(false, this.refreshCycle, view.placements());
            added.view = view;
            add(namespace, service, added);
            return true;
        }
    }

    private void add(String namespace, String service, Tracked entry) {
        this.tracked.computeIfAbsent(namespace, (ns) -> new ConcurrentHashMap<>()).put(service, entry);
        this.trackedCount++;
        this.untracked.invalidate(List.of(namespace, service));
    }

    private void remove(String namespace, String service) {
        ConcurrentHashMap<String, Tracked> services = this.tracked.get(namespace);
        if (services != null && services.remove(service) != null) {
            this.trackedCount--;
            if (services.isEmpty()) {
                this.tracked.remove(namespace, services);
            }
            synchronized (this.observations) {
                this.observations.remove(List.of(namespace, service));
            }
        }
    }

    /** Evicts the least recently used service that was not used since the last refresh, if any. */
    private boolean evictIdle() {
        long current = this.refreshCycle;
        String[] idlest = null;
        long idlestCycle = current;
        for (Map.Entry<String, ConcurrentHashMap<String, Tracked>> namespace : this.tracked.entrySet()) {
            for (Map.Entry<String, Tracked> service : namespace.getValue().entrySet()) {
                Tracked entry = service.getValue();
                if (!entry.kept && entry.lastUsedCycle < idlestCycle) {
                    idlestCycle = entry.lastUsedCycle;
                    idlest = new String[] { namespace.getKey(), service.getKey() };
                }
            }
        }
        if (idlest == null) {
            return false;
        }
        logger.debug("Evicting the view of {}/{} (idle) for a new service", idlest[0], idlest[1]);
        remove(idlest[0], idlest[1]);
        return true;
    }

    /**
     * Re-reads every tracked service, pipelined: at most {@code maxServices} reads. A service
     * that fails keeps its last view (its pods then age out by their own expiry); one that no
     * longer exists stops being tracked. The future completes when all answered.
     */
    public CompletableFuture<Void> refreshAsync() {
        long started = System.nanoTime();
        this.refreshCycle++;
        List<CompletableFuture<ServiceView>> reads = new ArrayList<>();
        this.tracked.forEach((namespace, services) -> services.keySet()
                .forEach((service) -> reads.add(read(namespace, service))));
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).whenComplete((done, ex) -> {
            this.lastRefreshDuration = Duration.ofNanos(System.nanoTime() - started);
            if (ex != null) {
                this.refreshFailures.incrementAndGet();
                Throwable cause = (ex instanceof CompletionException && ex.getCause() != null) ? ex.getCause() : ex;
                if (cause instanceof RedisUnavailableException && this.clock.freeze()) {
                    logger.warn("Redis is unavailable ({}); pods alive now are taken as alive until Redis answers",
                            cause.getMessage());
                }
            }
            else {
                this.refreshes.incrementAndGet();
                this.lastRefresh = Instant.now();
            }
        });
    }

    /** Blocking form of {@link #refreshAsync()}. */
    public void refresh() {
        this.executor.await(refreshAsync());
    }

    /** Registers a listener of pod changes. */
    public void addListener(PodStateListener listener) {
        this.listeners.add(RouteArguments.requireNonNull("listener", listener));
    }

    /** Load score movement (absolute) that counts as a {@link PodStateChange.Kind#LOAD_CHANGED}; off by default. */
    public void setLoadChangeThreshold(double loadChangeThreshold) {
        if (!(loadChangeThreshold > 0)) {
            throw new InvalidRouteArgumentException("loadChangeThreshold", loadChangeThreshold + " must be > 0");
        }
        this.loadChangeThreshold = loadChangeThreshold;
    }

    private void detectChanges(ServiceView view) {
        if (this.listeners.isEmpty()) {
            return;
        }
        List<PodStateChange> changes = new ArrayList<>();
        synchronized (this.observations) {
            Map<Integer, Observation> now = new HashMap<>();
            for (PodState pod : view.pods()) {
                now.put(pod.podIndex(), new Observation(pod, view.isAlive(pod.podIndex())));
            }
            Map<Integer, Observation> before = this.observations.put(List.of(view.namespace(), view.service()), now);
            if (before == null) {
                return;
            }
            now.forEach((podIndex, current) -> compare(view, podIndex, before.get(podIndex), current, changes));
            before.forEach((podIndex, previous) -> {
                if (!now.containsKey(podIndex) && previous.alive()) {
                    changes.add(new PodStateChange(view.namespace(), view.service(), podIndex,
                            PodStateChange.Kind.DOWN, previous.pod(), null));
                }
            });
        }
        for (PodStateChange change : changes) {
            for (PodStateListener listener : this.listeners) {
                try {
                    listener.podStateChanged(change);
                }
                catch (RuntimeException ex) {
                    logger.warn("Pod state listener {} failed on {}", listener, change, ex);
                }
            }
        }
    }

    private void compare(ServiceView view, int podIndex, Observation previous, Observation current,
            List<PodStateChange> changes) {
        PodState before = (previous != null) ? previous.pod() : null;
        boolean wasAlive = previous != null && previous.alive();
        if (wasAlive != current.alive()) {
            changes.add(new PodStateChange(view.namespace(), view.service(), podIndex,
                    current.alive() ? PodStateChange.Kind.UP : PodStateChange.Kind.DOWN, before, current.pod()));
        }
        if (!current.alive()) {
            return;
        }
        RoutingState state = current.pod().routingState();
        if (before != null && before.routingState() != state) {
            PodStateChange.Kind kind = switch (state) {
                case READY -> PodStateChange.Kind.READY;
                case DENY_NEW_CALL -> PodStateChange.Kind.DRAINING;
                case SHUTDOWN -> PodStateChange.Kind.SHUTDOWN;
            };
            changes.add(new PodStateChange(view.namespace(), view.service(), podIndex, kind, before, current.pod()));
        }
        if (before != null && Math.abs(current.pod().loadScore() - before.loadScore()) >= this.loadChangeThreshold) {
            changes.add(new PodStateChange(view.namespace(), view.service(), podIndex,
                    PodStateChange.Kind.LOAD_CHANGED, before, current.pod()));
        }
    }

    private record Observation(PodState pod, boolean alive) {
    }

    /** The views of every tracked service (at most {@code maxServices}); untracked ones are not listed. */
    public List<ServiceView> views() {
        List<ServiceView> all = new ArrayList<>();
        this.tracked.values().forEach((services) -> services.values().forEach((entry) -> {
            ServiceView view = entry.view;
            if (view != null) {
                all.add(view);
            }
        }));
        return all;
    }

    /** Most services tracked at once. */
    public int maxServices() {
        return this.maxServices;
    }

    /** Services remembered without being tracked (unknown names, or beyond the cap), at most {@value #MAX_UNTRACKED}. */
    public long untrackedCount() {
        return this.untracked.estimatedSize();
    }

    /** Whether the last refresh found Redis unavailable (pod liveness is then judged as of the outage's start). */
    public boolean isRedisUnavailable() {
        return this.clock.isFrozen();
    }

    /** Entries of Redis that were skipped as not understood (another version's, or garbage), by kind. */
    public SkippedEntries skippedEntries() {
        return this.executor.skippedEntries();
    }

    /** How long a pod stays alive after its last heartbeat. */
    public Duration podExpiry() {
        return Duration.ofMillis(this.podExpiryMillis);
    }

    public Stats stats() {
        return new Stats(this.hits.sum(), this.misses.sum(), this.refreshes.get(), this.refreshFailures.get(),
                this.lastRefresh, this.lastRefreshDuration, views().size(), this.clock.isFrozen());
    }

    /**
     * Statistics of the cache.
     * @param hits lookups answered from memory
     * @param misses lookups that loaded a service from Redis
     * @param refreshes completed refresh cycles
     * @param refreshFailures refresh cycles in which some service failed
     * @param lastRefresh end of the last complete refresh, null before the first
     * @param lastRefreshDuration how long the last refresh took
     * @param services services tracked
     * @param redisUnavailable whether the last refresh found Redis unavailable; pod liveness is
     * then judged as of Redis' last answer before the outage
     */
    public record Stats(long hits, long misses, long refreshes, long refreshFailures, Instant lastRefresh,
            Duration lastRefreshDuration, int services, boolean redisUnavailable) {
    }
}
