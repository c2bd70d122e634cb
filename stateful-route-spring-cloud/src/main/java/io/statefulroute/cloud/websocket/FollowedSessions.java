package io.statefulroute.cloud.websocket;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

import io.statefulroute.cloud.loadbalancer.PodChoice;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.LinkChangeListener;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.PodStateChange;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import org.springframework.context.SmartLifecycle;
import org.springframework.web.reactive.socket.CloseStatus;
import org.springframework.web.reactive.socket.WebSocketSession;

/**
 * The WebSocket sessions a gateway proxies to the pods of stateful services, each bound to the
 * pod its user's link chose at the upgrade. A session whose pod no longer has its user is
 * closed, so that its client reconnects and reaches the user's current pod: two pods never go
 * on serving one user through the gateway.
 *
 * <p>It follows the link change notices Redis publishes whenever a link moves, goes or is
 * shortened (the notices that keep the link cache current, on a subscription of its own). A
 * notice names only the user, so for a user with followed sessions it costs one read of the
 * user's link; then every session of the user bound to another pod (to any pod, when the user
 * is linked nowhere) is closed with the configured close code and reason
 * {@value #MOVED_REASON}. A session is thus closed within the notice's latency plus one Redis
 * round trip of the change. A pod that the gateway's state cache sees die (its heartbeat older
 * than the pod expiry) or shut down gets its sessions closed with reason
 * {@value #POD_GONE_REASON}, before its users may be relinked (the relink grace is at least
 * one state refresh period). A read that fails keeps the sessions; after a resubscription,
 * when notices may have been lost, every followed user's link is read again.
 *
 * <p>A session is followed from its upgrade until it ends, so only open sessions are held. A
 * notice for a user without a followed session costs a map look-up and allocates nothing.
 */
public final class FollowedSessions implements SmartLifecycle {

    /**
     * Phase of the subscription: started before the web server, so that sessions are followed
     * from the first one, and stopped after it.
     */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    /** Close reason of a session whose user's link moved away from its pod, or went. */
    public static final String MOVED_REASON = "user moved to another pod";

    /** Close reason of a session whose pod died or shut down. */
    public static final String POD_GONE_REASON = "pod unavailable";

    private static final Logger logger = LoggerFactory.getLogger(FollowedSessions.class);

    /** Users' last notices are kept per hash slot: a power of two. */
    private static final int NOTICE_SLOTS = 4096;

    /** Reads in flight when every followed user is read again. */
    private static final int RECHECK_CONCURRENCY = 64;

    private final StatefulRouteForClientDriver client;

    private final StatefulExecutor executor;

    private final ServiceStateCache states;

    private final CloseStatus moved;

    private final CloseStatus podGone;

    private final Duration resubscribeDelay;

    /** uid -> the user's followed sessions, replaced whole on each change (users have one or two). */
    private final ConcurrentMap<String, Bound[]> byUid = new ConcurrentHashMap<>();

    /**
     * {@link System#nanoTime()} of the last notice per slot of uids (0: none), so that a session
     * whose pod was chosen before a notice it missed is checked: collisions cost an extra read,
     * never a missed one, in a fixed amount of memory.
     */
    private final AtomicLongArray noticedAt = new AtomicLongArray(NOTICE_SLOTS);

    private final Object lifecycleMonitor = new Object();

    private boolean running;

    private AutoCloseable subscription;

    private Disposable retry;

    /**
     * @param executor subscribes to the link change notices
     * @param closeCode close code sent to the client of a closed session; one an endpoint may
     * send (1000-1003, 1007-1014, 3000-4999)
     * @param resubscribeDelay how long after a failed subscription (Redis down) it is tried again
     */
    public FollowedSessions(StatefulRouteForClientDriver client, StatefulExecutor executor, int closeCode,
            Duration resubscribeDelay) {
        this.client = RouteArguments.requireNonNull("client", client);
        this.executor = RouteArguments.requireNonNull("executor", executor);
        this.states = client.routeInfo().states();
        if (!isSendable(closeCode)) {
            throw new IllegalArgumentException("WebSocket close code " + closeCode
                    + " cannot be sent by an endpoint; use 1000-1003, 1007-1014 or 3000-4999");
        }
        this.moved = new CloseStatus(closeCode, MOVED_REASON);
        this.podGone = new CloseStatus(closeCode, POD_GONE_REASON);
        this.resubscribeDelay = RouteArguments.requireNonNull("resubscribeDelay", resubscribeDelay);
        // not a PodStateListener bean: the state cache's listeners are made before the client driver this needs
        this.states.addListener(this::podStateChanged);
    }

    private static boolean isSendable(int code) {
        return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
    }

    /**
     * Follows a session proxied to the pod of a choice that names a user, until the returned
     * handle is disposed (when the session ends). A session whose pod is already gone in the
     * state cache's view is closed at once; one whose user's link changed after the pod was
     * chosen is checked against Redis.
     * @return ends the following; idempotent
     */
    public Disposable follow(PodChoice choice, WebSocketSession session) {
        String uid = RouteArguments.requireNonNull("uid", choice.uid());
        Bound bound = new Bound(choice.namespace(), choice.service(), choice.podIndex(), choice.decidedAtNanos(),
                session);
        this.byUid.compute(uid, (key, followed) -> with(followed, bound));
        // the pod can die, or the link move, between the choice and the upgrade: either the
        // change's handler sees the session registered above, or this sees the change
        ServiceView view = this.states.cachedView(bound.namespace(), bound.service());
        if (view != null && view.pod(bound.podIndex()) != null && !view.isAvailable(bound.podIndex())) {
            close(uid, bound, this.podGone);
        }
        else if (noticedSince(uid, bound.decidedAtNanos())) {
            recheck(bound.namespace(), uid, bound.service());
        }
        return () -> this.byUid.computeIfPresent(uid, (key, followed) -> without(followed, bound));
    }

    /** How many sessions are followed now. */
    public int followedCount() {
        int count = 0;
        for (Bound[] followed : this.byUid.values()) {
            count += followed.length;
        }
        return count;
    }

    // ---- link changes

    private void linkChanged(String namespace, String uid, String service) {
        this.noticedAt.set(slot(uid), stamp(System.nanoTime()));
        Bound[] followed = this.byUid.get(uid);
        if (followed != null && followsAny(followed, namespace, service)) {
            recheck(namespace, uid, service);
        }
    }

    private boolean noticedSince(String uid, long sinceNanos) {
        long at = this.noticedAt.get(slot(uid));
        return at != 0 && at - sinceNanos >= 0;
    }

    /**
     * Reads the user's link and closes the user's sessions bound to a pod that no longer has
     * the user. Only sessions whose pod was chosen before the read began: a later choice may
     * rest on a newer link than this read returns.
     */
    private CompletableFuture<Void> recheck(String namespace, String uid, String service) {
        long readStart = System.nanoTime();
        CompletableFuture<OptionalInt> read;
        try {
            read = this.client.getLinkedPodNotCacheAsync(namespace, uid, service);
        }
        catch (RuntimeException ex) {
            read = CompletableFuture.failedFuture(ex);
        }
        return read.handle((linked, failure) -> {
            if (failure != null) {
                // Redis failed after the change: it is read again when the subscription comes back
                logger.debug("Could not read the link of {} to {}; its WebSocket sessions stay: {}", uid, service,
                        failure.toString());
                return null;
            }
            Bound[] followed = this.byUid.get(uid);
            if (followed != null) {
                for (Bound bound : followed) {
                    if (bound.follows(namespace, service) && bound.decidedAtNanos() - readStart < 0
                            && (linked.isEmpty() || linked.getAsInt() != bound.podIndex())) {
                        close(uid, bound, this.moved);
                    }
                }
            }
            return null;
        });
    }

    /** Notices may have been lost: every followed user's link is read again, a few at a time. */
    private void recheckAll() {
        Set<User> users = new HashSet<>();
        this.byUid.forEach((uid, followed) -> {
            for (Bound bound : followed) {
                users.add(new User(bound.namespace(), uid, bound.service()));
            }
        });
        if (!users.isEmpty()) {
            logger.info("Link change notices resubscribed; reading the links of {} users with WebSocket sessions",
                    users.size());
            Flux.fromIterable(users)
                .flatMap((user) -> Mono.fromFuture(recheck(user.namespace(), user.uid(), user.service())),
                        RECHECK_CONCURRENCY)
                .subscribe();
        }
    }

    // ---- pods

    private void podStateChanged(PodStateChange change) {
        if (change.kind() == PodStateChange.Kind.DOWN || change.kind() == PodStateChange.Kind.SHUTDOWN) {
            // every followed session is looked at: off the Redis client's thread
            Schedulers.parallel().schedule(() -> this.byUid.forEach((uid, followed) -> {
                for (Bound bound : followed) {
                    if (bound.podIndex() == change.podIndex() && bound.follows(change.namespace(), change.service())) {
                        close(uid, bound, this.podGone);
                    }
                }
            }));
        }
    }

    private void close(String uid, Bound bound, CloseStatus status) {
        logger.debug("Closing a WebSocket session of {} to pod {} of {}: {}", uid, bound.podIndex(), bound.service(),
                status.getReason());
        bound.session()
            .close(status)
            .subscribe(null, (ex) -> logger.debug("Closing a WebSocket session of {} failed", uid, ex));
    }

    // ---- subscription

    @Override
    public void start() {
        synchronized (this.lifecycleMonitor) {
            if (!this.running) {
                this.running = true;
                subscribe();
            }
        }
    }

    /** Subscribes, or tries again after the delay while Redis refuses; under the lifecycle monitor. */
    private void subscribe() {
        try {
            this.subscription = this.executor.subscribeLinkChanges(new Notices());
        }
        catch (IllegalStateException | UnsupportedOperationException ex) {
            logger.warn("Link change notices are off: proxied WebSocket sessions are closed when their pod dies or "
                    + "shuts down, not when their user moves: {}", ex.getMessage());
        }
        catch (RuntimeException ex) {
            logger.warn("Cannot subscribe to link change notices yet, retrying in {}: {}", this.resubscribeDelay,
                    ex.getMessage());
            this.retry = Schedulers.boundedElastic().schedule(() -> {
                synchronized (this.lifecycleMonitor) {
                    if (this.running && this.subscription == null) {
                        subscribe();
                    }
                }
            }, this.resubscribeDelay.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void stop() {
        synchronized (this.lifecycleMonitor) {
            this.running = false;
            if (this.retry != null) {
                this.retry.dispose();
                this.retry = null;
            }
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
    }

    @Override
    public boolean isRunning() {
        synchronized (this.lifecycleMonitor) {
            return this.running;
        }
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /** Called on the Redis client's thread: each call is a map look-up, or hands a read off. */
    private final class Notices implements LinkChangeListener {

        @Override
        public void linkChanged(String namespace, String uid, String service) {
            FollowedSessions.this.linkChanged(namespace, uid, service);
        }

        @Override
        public void probeReceived(String token) {
        }

        @Override
        public void subscribed() {
            recheckAll();
        }

    }

    // ---- the registry's arrays

    private static int slot(String uid) {
        int hash = uid.hashCode();
        return (hash ^ (hash >>> 16)) & (NOTICE_SLOTS - 1);
    }

    /** A {@link System#nanoTime()} reading as a notice stamp: never 0, which means none. */
    private static long stamp(long nanos) {
        return (nanos != 0) ? nanos : 1;
    }

    private static boolean followsAny(Bound[] followed, String namespace, String service) {
        for (Bound bound : followed) {
            if (bound.follows(namespace, service)) {
                return true;
            }
        }
        return false;
    }

    private static Bound[] with(Bound[] followed, Bound bound) {
        if (followed == null) {
            return new Bound[] { bound };
        }
        Bound[] more = Arrays.copyOf(followed, followed.length + 1);
        more[followed.length] = bound;
        return more;
    }

    /** The array without the bound session (by identity), null when none is left. */
    private static Bound[] without(Bound[] followed, Bound bound) {
        for (int i = 0; i < followed.length; i++) {
            if (followed[i] == bound) {
                if (followed.length == 1) {
                    return null;
                }
                Bound[] fewer = new Bound[followed.length - 1];
                System.arraycopy(followed, 0, fewer, 0, i);
                System.arraycopy(followed, i + 1, fewer, i, followed.length - i - 1);
                return fewer;
            }
        }
        return followed;
    }

    private record User(String namespace, String uid, String service) {
    }

    /** A followed session: the pod it was proxied to, and when that pod was chosen. */
    private record Bound(String namespace, String service, int podIndex, long decidedAtNanos,
            WebSocketSession session) {

        boolean follows(String namespace, String service) {
            return this.service.equals(service) && this.namespace.equals(namespace);
        }

    }

}
