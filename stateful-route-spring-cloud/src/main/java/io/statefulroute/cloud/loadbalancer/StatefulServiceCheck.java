package io.statefulroute.cloud.loadbalancer;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.state.ServiceStateCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.publisher.Mono;

/**
 * Tells whether one load-balanced service is a stateful service that stateful-route routes:
 * it is listed as one, or pods of it heartbeat in the namespace (it has pod entries in Redis).
 *
 * <p>Asked on every request, it answers from memory. An answer is used for the recheck
 * period; after it, the last answer goes on being given while the service is checked again
 * in the background, once. A check reads the state cache, which answers a service it tracks
 * (one with pods) from memory and any other with at most one Redis read per refresh period,
 * so a service that is not stateful costs no Redis round trip per request. Only the first
 * request of a service waits for an answer; when Redis fails a later check, the last answer
 * is kept for another period.
 */
public final class StatefulServiceCheck {

    private static final Logger logger = LoggerFactory.getLogger(StatefulServiceCheck.class);

    private final String namespace;

    private final String service;

    private final ServiceStateCache states;

    private final boolean listed;

    private final long recheckNanos;

    /** The last answer, null before the first. */
    private volatile Answer answer;

    private final AtomicBoolean rechecking = new AtomicBoolean();

    /**
     * @param namespace the namespace whose pods count
     * @param service the load-balanced service id, which is also the stateful service's name
     * @param listed whether the service is listed as stateful: then it always is, and Redis
     * is never asked
     * @param recheckPeriod how long an answer is used before the service is checked again
     */
    public StatefulServiceCheck(String namespace, String service, ServiceStateCache states, boolean listed,
            Duration recheckPeriod) {
        this.namespace = RouteArguments.requireId("namespace", namespace);
        this.service = RouteArguments.requireId("service", service);
        this.states = RouteArguments.requireNonNull("states", states);
        this.listed = listed;
        if (recheckPeriod == null || recheckPeriod.isNegative() || recheckPeriod.isZero()) {
            throw new InvalidRouteArgumentException("recheckPeriod", "must be a positive duration");
        }
        this.recheckNanos = recheckPeriod.toNanos();
    }

    /**
     * The answer from memory, or null before the first one is known (then {@link #check()}).
     * Never waits: an answer older than the recheck period is still given, and starts a check
     * in the background unless one is under way.
     */
    public Boolean knownAnswer() {
        if (this.listed) {
            return Boolean.TRUE;
        }
        Answer last = this.answer;
        if (last == null) {
            return null;
        }
        if (System.nanoTime() - last.checkedAtNanos() >= this.recheckNanos
                && this.rechecking.compareAndSet(false, true)) {
            read().whenComplete((stateful, ex) -> this.rechecking.set(false));
        }
        return last.stateful();
    }

    /**
     * Checks the service now and remembers the answer.
     * @return whether the service is stateful; an error with
     * {@link io.statefulroute.core.RedisUnavailableException} when Redis does not answer and
     * no earlier answer is known
     */
    public Mono<Boolean> check() {
        if (this.listed) {
            return Mono.just(Boolean.TRUE);
        }
        return StatefulRouteLoadBalancer.mono(read());
    }

    private CompletableFuture<Boolean> read() {
        return this.states.viewAsync(this.namespace, this.service).handle((view, failure) -> {
            if (failure == null) {
                boolean stateful = !view.pods().isEmpty();
                this.answer = new Answer(stateful, System.nanoTime());
                return stateful;
            }
            Answer last = this.answer;
            if (last == null) {
                throw (failure instanceof CompletionException completion) ? completion
                        : new CompletionException(failure);
            }
            logger.debug("Could not check whether {} is stateful; keeping the last answer ({})", this.service,
                    last.stateful(), failure);
            this.answer = new Answer(last.stateful(), System.nanoTime());
            return last.stateful();
        });
    }

    private record Answer(boolean stateful, long checkedAtNanos) {
    }

}
