package io.statefulroute.sample;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.LongAdder;

import io.statefulroute.core.link.RouteListener;
import io.statefulroute.core.link.RouteOutcome;

import org.springframework.stereotype.Component;

/**
 * Told about every routing decision of the gateway's client driver: counts them by outcome
 * and keeps the latest ones that needed Redis, with the pod they chose, for the live page.
 * As a {@code RouteListener} bean, the starter hands it to its client driver.
 *
 * <p>The listener learns how a decision ended but not which pod it chose; the
 * {@link Gateway} knows the pod once {@code computeLinkedPod} returns and calls
 * {@link #routed(int)} on the same thread.
 */
@Component
class RouteLog implements RouteListener {

    private static final int RECENT = 30;

    private final Map<RouteOutcome, LongAdder> counts = new EnumMap<>(RouteOutcome.class);

    private final Deque<Decision> recent = new ConcurrentLinkedDeque<>();

    /** The decision in flight on this thread (set when it starts, read when the gateway has the pod). */
    private final ThreadLocal<InFlight> inFlight = new ThreadLocal<>();

    RouteLog() {
        for (RouteOutcome outcome : RouteOutcome.values()) {
            this.counts.put(outcome, new LongAdder());
        }
    }

    @Override
    public void cacheHit(String namespace, String service, long nanos) {
        this.counts.get(RouteOutcome.CACHE_HIT).increment();
        this.inFlight.remove();
    }

    @Override
    public Object resolving(String namespace, String uid, String service) {
        InFlight decision = new InFlight(uid, service);
        this.inFlight.set(decision);
        return decision;
    }

    @Override
    public void resolved(Object token, String namespace, String service, RouteOutcome outcome, long nanos,
            Throwable error) {
        this.counts.get(outcome).increment();
        InFlight decision = (InFlight) token;
        decision.outcome = outcome;
        decision.micros = nanos / 1000;
        if (error != null) {
            remember(decision, -1);
        }
    }

    /** The decision just made on this thread chose {@code pod}; remembers it if it needed Redis. */
    void routed(int pod) {
        InFlight decision = this.inFlight.get();
        this.inFlight.remove();
        if (decision != null && decision.outcome != null) {
            remember(decision, pod);
        }
    }

    private void remember(InFlight decision, int pod) {
        this.recent.addFirst(new Decision(Instant.now(), decision.uid, decision.service, decision.outcome, pod,
                decision.micros));
        while (this.recent.size() > RECENT) {
            this.recent.pollLast();
        }
    }

    /** How many decisions ended with each outcome. */
    Map<RouteOutcome, Long> counts() {
        Map<RouteOutcome, Long> counts = new EnumMap<>(RouteOutcome.class);
        this.counts.forEach((outcome, count) -> counts.put(outcome, count.sum()));
        return counts;
    }

    /** The latest decisions that needed Redis, newest first. */
    List<Decision> recent() {
        return new ArrayList<>(this.recent);
    }

    /** A decision between {@link #resolving} and {@link #routed}. */
    private static final class InFlight {

        final String uid;

        final String service;

        volatile RouteOutcome outcome;

        volatile long micros;

        InFlight(String uid, String service) {
            this.uid = uid;
            this.service = service;
        }

    }

    /**
     * One routing decision.
     * @param at when it ended
     * @param uid the player
     * @param service the service
     * @param outcome how it was reached
     * @param pod the pod the player is linked to, -1 if it failed
     * @param micros how long it took
     */
    record Decision(Instant at, String uid, String service, RouteOutcome outcome, int pod, long micros) {
    }

}
