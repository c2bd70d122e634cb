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

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.redis.SkippedEntries;
import io.statefulroute.core.redis.StatefulExecutor;

/**
 * A periodically refreshed in-memory view of the pod states of every service this process
 * has asked about. The first use of a service loads it from Redis; {@link #refreshAsync()}
 * (called on a period by whoever schedules it) re-reads every known service in one
 * pipelined batch, one round trip per service. Each read is compared with the one before,
 * and pod changes (up, down, draining, ready, shutdown, load moved) go to the registered
 * {@link PodStateListener}s; the first read of a service is the baseline and reports none.
 */
public final class ServiceStateCache {

    private static final Logger logger = LoggerFactory.getLogger(ServiceStateCache.class);

    private final StatefulExecutor executor;

    /** Same default as the server side's {@code ServerOptions.DEFAULT_RELINK_GRACE}. */
    public static final Duration DEFAULT_RELINK_GRACE = Duration.ofSeconds(2);

    private final long podExpiryMillis;

    private final long relinkGraceMillis;

    /** namespace -> service -> view; nested so that lookups build no composite key. */
    private final ConcurrentHashMap<String, ConcurrentHashMap<String, ServiceView>> views = new ConcurrentHashMap<>();

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

    /** A cache whose relink grace is {@link #DEFAULT_RELINK_GRACE}. */
    public ServiceStateCache(StatefulExecutor executor, Duration podExpiry) {
        this(executor, podExpiry, DEFAULT_RELINK_GRACE);
    }

    /**
     * @param podExpiry how long after its last heartbeat (on Redis' clock) a pod is dead
     * @param relinkGrace how much longer a dead pod's users stay linked to it: its lease lapsed
     * by then, whatever the clock drift, so it knows it lost them before they move; a view older
     * than the grace is re-read before it moves anyone
     */
    public ServiceStateCache(StatefulExecutor executor, Duration podExpiry, Duration relinkGrace) {
        this.executor = RouteArguments.requireNonNull("executor", executor);
        if (podExpiry == null || podExpiry.isNegative() || podExpiry.isZero()) {
            throw new InvalidRouteArgumentException("podExpiry", "must be a positive duration");
        }
        if (relinkGrace == null || relinkGrace.isNegative()) {
            throw new InvalidRouteArgumentException("relinkGrace", "must be zero or a positive duration");
        }
        this.podExpiryMillis = podExpiry.toMillis();
        this.relinkGraceMillis = relinkGrace.toMillis();
    }

    /** The pod's users move no sooner than this after it died (see {@link ServiceView#mayRelinkFrom}). */
    public Duration relinkGrace() {
        return Duration.ofMillis(this.relinkGraceMillis);
    }

    /** The cached view of a service, or null if this process has not loaded it yet. Never calls Redis. */
    public ServiceView cachedView(String namespace, String service) {
        Map<String, ServiceView> services = this.views.get(namespace);
        ServiceView view = (services != null) ? services.get(service) : null;
        if (view != null) {
            this.hits.increment();
        }
        return view;
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

    private CompletableFuture<ServiceView> load(String namespace, String service) {
        RouteArguments.requireId("namespace", namespace);
        RouteArguments.requireId("service", service);
        this.misses.increment();
        List<String> key = List.of(namespace, service);
        CompletableFuture<ServiceView> pending = this.loading.computeIfAbsent(key, (k) -> read(namespace, service));
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
            ServiceView view = new ServiceView(state, this.podExpiryMillis, this.relinkGraceMillis, this.clock);
            this.views.computeIfAbsent(namespace, (ns) -> new ConcurrentHashMap<>()).put(service, view);
            detectChanges(view);
            return view;
        });
    }

    /**
     * Re-reads every known service, pipelined. A service that fails keeps its last view (its
     * pods then age out by their own expiry); the returned future completes when all answered.
     */
    public CompletableFuture<Void> refreshAsync() {
        long started = System.nanoTime();
        List<CompletableFuture<ServiceView>> reads = new ArrayList<>();
        this.views.forEach((namespace, services) -> services.keySet()
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

    /** Every service view this process knows. */
    public List<ServiceView> views() {
        List<ServiceView> all = new ArrayList<>();
        this.views.values().forEach((services) -> all.addAll(services.values()));
        return all;
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
     * @param services services known
     * @param redisUnavailable whether the last refresh found Redis unavailable; pod liveness is
     * then judged as of Redis' last answer before the outage
     */
    public record Stats(long hits, long misses, long refreshes, long refreshFailures, Instant lastRefresh,
            Duration lastRefreshDuration, int services, boolean redisUnavailable) {
    }
}
