package io.statefulroute.tracing;

import java.util.Locale;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.statefulroute.core.link.RouteListener;
import io.statefulroute.core.link.RouteOutcome;
import io.statefulroute.core.redis.RedisCallListener;
import org.jspecify.annotations.Nullable;

/**
 * Micrometer {@link Observation}s of stateful-route, so that Spring Boot's tracing bridges
 * (OpenTelemetry, Brave) turn them into spans with no extra code.
 *
 * <ul>
 * <li>{@value #ROUTE}: a routing decision that goes to Redis, from
 * {@link #resolving} to {@link #resolved}; low-cardinality key values {@code namespace},
 * {@code service}, {@code outcome}; the uid only as a high-cardinality key value, and only
 * when asked for. Cache hits make no observation: they cost no Redis call, and observing them
 * would allocate on the hot path (the routing timer counts them).
 * <li>{@value #REDIS}: one Redis operation; low-cardinality {@code operation} and
 * {@code outcome}.
 * </ul>
 *
 * Both start on the caller's thread, so they are children of the caller's current
 * observation (e.g. the HTTP request). With Spring Boot's default meter handler each
 * observation also yields a timer of its own name, distinct from
 * {@value io.statefulroute.metrics.StatefulRouteMeters#ROUTING} and
 * {@value io.statefulroute.metrics.StatefulRouteMeters#REDIS}.
 */
public class ObservationRouteListener implements RouteListener, RedisCallListener {

    /** Name of the observation of a routing decision. */
    public static final String ROUTE = "statefulroute.route.resolve";

    /** Name of the observation of a Redis operation. */
    public static final String REDIS = "statefulroute.redis.command";

    private static final String[] OUTCOME_VALUES = new String[RouteOutcome.values().length];

    static {
        // the same values as the routing timer's outcome tag
        for (RouteOutcome outcome : RouteOutcome.values()) {
            OUTCOME_VALUES[outcome.ordinal()] = outcome.name().toLowerCase(Locale.ROOT);
        }
    }

    private final ObservationRegistry registry;

    private final boolean includeUid;

    /**
     * Creates a listener.
     * @param registry where observations go
     * @param includeUid whether routing observations carry the uid (high cardinality)
     */
    public ObservationRouteListener(ObservationRegistry registry, boolean includeUid) {
        this.registry = registry;
        this.includeUid = includeUid;
    }

    @Override
    public @Nullable Object resolving(String namespace, String uid, String service) {
        if (this.registry.isNoop()) {
            return null;
        }
        Observation observation = Observation.createNotStarted(ROUTE, this.registry)
            .contextualName("route " + service)
            .lowCardinalityKeyValue("namespace", namespace)
            .lowCardinalityKeyValue("service", service);
        if (this.includeUid) {
            observation.highCardinalityKeyValue("uid", uid);
        }
        return observation.start();
    }

    @Override
    public void resolved(@Nullable Object token, String namespace, String service, RouteOutcome outcome, long nanos,
            @Nullable Throwable error) {
        if (token instanceof Observation observation) {
            observation.lowCardinalityKeyValue("outcome", OUTCOME_VALUES[outcome.ordinal()]);
            if (error != null) {
                observation.error(error);
            }
            observation.stop();
        }
    }

    @Override
    public @Nullable Object started(String operation) {
        if (this.registry.isNoop()) {
            return null;
        }
        return Observation.createNotStarted(REDIS, this.registry)
            .contextualName(operation)
            .lowCardinalityKeyValue("operation", operation)
            .start();
    }

    @Override
    public void finished(@Nullable Object token, String operation, long nanos, @Nullable Throwable error) {
        if (token instanceof Observation observation) {
            observation.lowCardinalityKeyValue("outcome", (error != null) ? "error" : "success");
            if (error != null) {
                observation.error(error);
            }
            observation.stop();
        }
    }

}
