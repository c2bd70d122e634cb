package io.statefulroute.metrics;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.statefulroute.core.link.RouteListener;
import io.statefulroute.core.link.RouteOutcome;
import io.statefulroute.core.redis.RedisCallListener;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;
import io.statefulroute.lifecycle.StateRefreshListener;
import org.jspecify.annotations.Nullable;

/**
 * Records stateful-route's timers and per-service gauges in a {@link MeterRegistry}.
 *
 * <ul>
 * <li>{@value StatefulRouteMeters#ROUTING} per namespace, service and outcome, with a
 * client-side 99th percentile (what the performance analyzer reads). Cache hits are recorded
 * on a timer resolved once per (namespace, service, outcome): a lookup in two maps and an
 * array, no allocation. Only services the state cache tracks get timers of their own (and
 * lose them when no longer tracked); decisions about any other name (e.g. an unknown service
 * sent by a client) share the timers tagged {@value StatefulRouteMeters#UNTRACKED}, so
 * hostile names cannot grow the number of meters.
 * <li>{@value StatefulRouteMeters#REDIS} per operation and outcome; for the
 * {@code heartbeat} operation also {@value StatefulRouteMeters#HEARTBEAT} and
 * {@value StatefulRouteMeters#HEARTBEAT_FAILURES}.
 * <li>{@value StatefulRouteMeters#STATE_REFRESH} per outcome, for refreshes run by the
 * starter's scheduler.
 * <li>per service seen by the state cache: alive, routable and dead pods, the age of its pod
 * states, and each pod's load score. Services are picked up on their first routing decision
 * and on every refresh; pods whose entry left Redis lose their gauge.
 * </ul>
 */
public class MicrometerRouteListener implements RouteListener, RedisCallListener, StateRefreshListener {

    private static final RouteOutcome[] OUTCOMES = RouteOutcome.values();

    private static final double[] ROUTING_PERCENTILES = { 0.99 };

    private final MeterRegistry registry;

    private final Supplier<@Nullable ServiceStateCache> states;

    /** namespace -> service -> timer by outcome ordinal; nested so that lookups build no key. */
    private final ConcurrentHashMap<String, ConcurrentHashMap<String, AtomicReferenceArray<Timer>>> routing = new ConcurrentHashMap<>();

    /** Timers by outcome ordinal of every service the state cache does not track. */
    private final AtomicReferenceArray<Timer> untracked = new AtomicReferenceArray<>(OUTCOMES.length);

    /** operation -> timers of success and error. */
    private final ConcurrentHashMap<String, Timer[]> redis = new ConcurrentHashMap<>();

    /** Heartbeat meters, registered on the first heartbeat so that gateways do not show them. */
    private volatile @Nullable HeartbeatMeters heartbeat;

    private final Timer refreshSuccess;

    private final Timer refreshError;

    private final MultiGauge alivePods;

    private final MultiGauge routablePods;

    private final MultiGauge deadPods;

    private final MultiGauge stateAge;

    private final MultiGauge podLoad;

    /** What the per-service gauges were last registered for. */
    private Set<List<Object>> gaugedPods = Set.of();

    /**
     * Creates a listener.
     * @param registry where the meters go
     * @param states the state cache per-service gauges read, looked up when first needed
     * (the cache depends on the executor this listener is handed to)
     */
    public MicrometerRouteListener(MeterRegistry registry, Supplier<@Nullable ServiceStateCache> states) {
        this.registry = registry;
        this.states = states;
        this.refreshSuccess = refreshTimer(StatefulRouteMeters.SUCCESS);
        this.refreshError = refreshTimer(StatefulRouteMeters.ERROR);
        this.alivePods = MultiGauge.builder(StatefulRouteMeters.SERVICE_PODS_ALIVE)
            .description("Pods of the service whose heartbeat is fresh")
            .register(registry);
        this.routablePods = MultiGauge.builder(StatefulRouteMeters.SERVICE_PODS_ROUTABLE)
            .description("Pods of the service that are alive and take new users")
            .register(registry);
        this.deadPods = MultiGauge.builder(StatefulRouteMeters.SERVICE_PODS_DEAD)
            .description("Pods of the service whose heartbeat expired without a SHUTDOWN while their entry is in Redis")
            .register(registry);
        this.stateAge = MultiGauge.builder(StatefulRouteMeters.SERVICE_STATE_AGE)
            .description("Time since the service's pod states were last read from Redis")
            .baseUnit("seconds")
            .register(registry);
        this.podLoad = MultiGauge.builder(StatefulRouteMeters.SERVICE_POD_LOAD)
            .description("Load score each alive pod of the service publishes (NaN while dead)")
            .register(registry);
    }

    private Timer refreshTimer(String outcome) {
        return Timer.builder(StatefulRouteMeters.STATE_REFRESH)
            .tag("outcome", outcome)
            .description("Refreshes of the pod states of every known service")
            .register(this.registry);
    }

    // ---- routing decisions

    @Override
    public void cacheHit(String namespace, String service, long nanos) {
        routingTimer(namespace, service, RouteOutcome.CACHE_HIT).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void resolved(Object token, String namespace, String service, RouteOutcome outcome, long nanos,
            Throwable error) {
        boolean firstSight = !isKnown(namespace, service) && isTracked(namespace, service);
        routingTimer(namespace, service, outcome).record(nanos, TimeUnit.NANOSECONDS);
        if (firstSight) {
            updateServiceGauges();
        }
    }

    private boolean isKnown(String namespace, String service) {
        ConcurrentHashMap<String, AtomicReferenceArray<Timer>> services = this.routing.get(namespace);
        return services != null && services.containsKey(service);
    }

    /** Whether the service gets timers of its own: tracked by the state cache, or every one when there is no cache. */
    private boolean isTracked(String namespace, String service) {
        ServiceStateCache states = this.states.get();
        return states == null || states.isTracked(namespace, service);
    }

    private Timer routingTimer(String namespace, String service, RouteOutcome outcome) {
        ConcurrentHashMap<String, AtomicReferenceArray<Timer>> services = this.routing.get(namespace);
        AtomicReferenceArray<Timer> timers = (services != null) ? services.get(service) : null;
        if (timers == null) {
            if (!isTracked(namespace, service)) {
                return untrackedTimer(outcome);
            }
            timers = this.routing.computeIfAbsent(namespace, (ns) -> new ConcurrentHashMap<>())
                .computeIfAbsent(service, (s) -> new AtomicReferenceArray<>(OUTCOMES.length));
        }
        return timer(timers, namespace, service, outcome);
    }

    private Timer untrackedTimer(RouteOutcome outcome) {
        return timer(this.untracked, StatefulRouteMeters.UNTRACKED, StatefulRouteMeters.UNTRACKED, outcome);
    }

    private Timer timer(AtomicReferenceArray<Timer> timers, String namespace, String service, RouteOutcome outcome) {
        Timer timer = timers.get(outcome.ordinal());
        if (timer == null) {
            // registering twice in a race is harmless: the registry returns the same timer
            timer = Timer.builder(StatefulRouteMeters.ROUTING)
                .tags("namespace", namespace, "service", service, "outcome", StatefulRouteMeters.outcome(outcome))
                .description("Routing decisions of computeLinkedPod")
                .publishPercentiles(ROUTING_PERCENTILES)
                .register(this.registry);
            timers.set(outcome.ordinal(), timer);
        }
        return timer;
    }

    // ---- Redis operations

    @Override
    public void finished(Object token, String operation, long nanos, Throwable error) {
        Timer[] timers = this.redis.get(operation);
        if (timers == null) {
            timers = this.redis.computeIfAbsent(operation, (op) -> new Timer[] { redisTimer(op, StatefulRouteMeters.SUCCESS),
                    redisTimer(op, StatefulRouteMeters.ERROR) });
        }
        timers[(error != null) ? 1 : 0].record(nanos, TimeUnit.NANOSECONDS);
        if ("heartbeat".equals(operation)) {
            HeartbeatMeters heartbeat = this.heartbeat;
            if (heartbeat == null) {
                heartbeat = new HeartbeatMeters(this.registry);
                this.heartbeat = heartbeat;
            }
            heartbeat.record(nanos, error);
        }
    }

    private record HeartbeatMeters(Timer success, Timer error, Counter failures) {

        HeartbeatMeters(MeterRegistry registry) {
            this(StatefulRouteMeters.heartbeatTimer(registry, StatefulRouteMeters.SUCCESS),
                    StatefulRouteMeters.heartbeatTimer(registry, StatefulRouteMeters.ERROR),
                    StatefulRouteMeters.heartbeatFailures(registry));
        }

        void record(long nanos, @Nullable Throwable error) {
            ((error != null) ? this.error : this.success).record(nanos, TimeUnit.NANOSECONDS);
            if (error != null) {
                this.failures.increment();
            }
        }

    }

    private Timer redisTimer(String operation, String outcome) {
        return Timer.builder(StatefulRouteMeters.REDIS)
            .tags("operation", operation, "outcome", outcome)
            .description("Redis operations of stateful-route")
            .register(this.registry);
    }

    // ---- state refreshes and per-service gauges

    @Override
    public void refreshed(long nanos, @Nullable Throwable error) {
        ((error != null) ? this.refreshError : this.refreshSuccess).record(nanos, TimeUnit.NANOSECONDS);
        updateServiceGauges();
    }

    /**
     * Registers gauges for services and pods that appeared, and drops those of pods that left
     * Redis and the gauges and routing timers of services no longer tracked.
     */
    public synchronized void updateServiceGauges() {
        ServiceStateCache states = this.states.get();
        if (states == null) {
            return;
        }
        dropRoutingTimersOfUntracked(states);
        List<ServiceView> views = states.views();
        Set<List<Object>> pods = new HashSet<>();
        for (ServiceView view : views) {
            pods.add(List.of(view.namespace(), view.service()));
            for (PodState pod : view.pods()) {
                pods.add(List.of(view.namespace(), view.service(), pod.podIndex()));
            }
        }
        if (pods.equals(this.gaugedPods)) {
            return;
        }
        this.gaugedPods = pods;
        List<MultiGauge.Row<?>> alive = new ArrayList<>();
        List<MultiGauge.Row<?>> routable = new ArrayList<>();
        List<MultiGauge.Row<?>> dead = new ArrayList<>();
        List<MultiGauge.Row<?>> age = new ArrayList<>();
        List<MultiGauge.Row<?>> load = new ArrayList<>();
        for (ServiceView view : views) {
            String namespace = view.namespace();
            String service = view.service();
            Tags tags = Tags.of("namespace", namespace, "service", service);
            alive.add(MultiGauge.Row.of(tags, states, (s) -> measure(s, namespace, service, (v) -> v.alivePods().size())));
            routable.add(MultiGauge.Row.of(tags, states,
                    (s) -> measure(s, namespace, service, (v) -> v.routablePods().size())));
            dead.add(MultiGauge.Row.of(tags, states, (s) -> measure(s, namespace, service, MicrometerRouteListener::deadPods)));
            age.add(MultiGauge.Row.of(tags, states, (s) -> measure(s, namespace, service, (v) -> v.ageMillis() / 1000.0)));
            for (PodState pod : view.pods()) {
                int podIndex = pod.podIndex();
                load.add(MultiGauge.Row.of(tags.and("pod", Integer.toString(podIndex)), states,
                        (s) -> measure(s, namespace, service, (v) -> podLoad(v, podIndex))));
            }
        }
        this.alivePods.register(alive, true);
        this.routablePods.register(routable, true);
        this.deadPods.register(dead, true);
        this.stateAge.register(age, true);
        this.podLoad.register(load, true);
    }

    private void dropRoutingTimersOfUntracked(ServiceStateCache states) {
        this.routing.forEach((namespace, services) -> {
            services.forEach((service, timers) -> {
                if (!states.isTracked(namespace, service) && services.remove(service, timers)) {
                    for (int i = 0; i < timers.length(); i++) {
                        Timer timer = timers.get(i);
                        if (timer != null) {
                            this.registry.remove(timer);
                        }
                    }
                }
            });
            if (services.isEmpty()) {
                this.routing.remove(namespace, services);
            }
        });
    }

    /**
     * Pods that stopped heartbeating without saying goodbye: a pod that published
     * {@code SHUTDOWN} left on purpose (a rolling update, a drained scale-down) and is not counted.
     */
    private static double deadPods(ServiceView view) {
        int dead = 0;
        for (PodState pod : view.pods()) {
            if (pod.routingState().servesLinkedUsers() && !view.isAlive(pod.podIndex())) {
                dead++;
            }
        }
        return dead;
    }

    private static double podLoad(ServiceView view, int podIndex) {
        PodState pod = view.pod(podIndex);
        return (pod != null && view.isAlive(podIndex)) ? pod.loadScore() : Double.NaN;
    }

    /** Reads the current view of a service (views are replaced on every refresh), NaN if gone. */
    private static double measure(ServiceStateCache states, String namespace, String service,
            ToDoubleFunction<ServiceView> value) {
        for (ServiceView view : states.views()) {
            if (view.namespace().equals(namespace) && view.service().equals(service)) {
                return value.applyAsDouble(view);
            }
        }
        return Double.NaN;
    }

}
