package io.statefulroute.lifecycle;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.ServiceStateCache;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.context.SmartLifecycle;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;

/**
 * Starts and stops stateful-route with the application context: refreshes the pod state
 * cache, checks that link change notices still arrive, and publishes this pod's heartbeat,
 * on a scheduler of its own; drains the pod gracefully when the context closes.
 *
 * <p>The scheduler is a {@link ThreadPoolTaskScheduler} (what {@code @Scheduled} methods run
 * on) that this lifecycle creates and shuts down; it is never a bean, so it neither becomes
 * the application's {@code TaskScheduler} nor switches on {@code @EnableScheduling}. With
 * scheduling off, the application calls {@link ServiceStateCache#refreshAsync()},
 * {@link StatefulRouteForClientDriver#checkLinkChanges()} and
 * {@link StatefulRouteForServerDriver#heartbeat()} itself; this lifecycle still subscribes
 * to link changes, starts the pod and drains it.
 *
 * <p>Stopping is asynchronous: the pod switches to {@code DENY_NEW_CALL} at once, keeps
 * heartbeating for the drain period, publishes {@code SHUTDOWN}, and only then is the
 * callback run. It runs in {@link #PHASE}, before the web server's graceful shutdown (so
 * linked users are still served while gateways learn of the drain) and long before the
 * Redis connection factory stops (phase 0). A Redis failure while stopping is logged and
 * never delays the callback beyond the stop timeout.
 */
public class StatefulRouteLifecycle implements SmartLifecycle {

    /**
     * Phase of this lifecycle: above the web server's graceful shutdown phase
     * ({@code SmartLifecycle.DEFAULT_PHASE - 1024}) so it stops first, and far above the
     * phase of Spring Data Redis' connection factory (0) so Redis stays reachable throughout
     * the drain.
     */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

    private static final Logger logger = LoggerFactory.getLogger(StatefulRouteLifecycle.class);

    private final ServiceStateCache states;

    private final @Nullable StatefulRouteForClientDriver client;

    private final @Nullable StatefulRouteForServerDriver server;

    private final Settings settings;

    private final StateRefreshListener refreshListener;

    private final AtomicBoolean running = new AtomicBoolean();

    private final List<ScheduledFuture<?>> tasks = new ArrayList<>();

    private @Nullable ThreadPoolTaskScheduler scheduler;

    private volatile @Nullable CompletableFuture<Void> refreshing;

    private volatile boolean followingLinkChanges;

    private volatile boolean podFollowingLinkChanges;

    private volatile boolean linkChangesUnavailable;

    /**
     * Creates a lifecycle.
     * @param states the state cache to refresh
     * @param client the client whose link cache follows link change notices, or null
     * @param server this pod's driver, or null when the application is not a pod of a
     * stateful service
     * @param settings periods and switches
     */
    public StatefulRouteLifecycle(ServiceStateCache states, @Nullable StatefulRouteForClientDriver client,
            @Nullable StatefulRouteForServerDriver server, Settings settings) {
        this(states, client, server, settings, StateRefreshListener.NOOP);
    }

    /**
     * Creates a lifecycle that reports every scheduled state refresh.
     * @param states the state cache to refresh
     * @param client the client whose link cache follows link change notices, or null
     * @param server this pod's driver, or null when the application is not a pod of a
     * stateful service
     * @param settings periods and switches
     * @param refreshListener told when each scheduled refresh ends
     */
    public StatefulRouteLifecycle(ServiceStateCache states, @Nullable StatefulRouteForClientDriver client,
            @Nullable StatefulRouteForServerDriver server, Settings settings, StateRefreshListener refreshListener) {
        this.states = states;
        this.client = client;
        this.server = server;
        this.settings = settings;
        this.refreshListener = refreshListener;
    }

    @Override
    public synchronized void start() {
        if (!this.running.compareAndSet(false, true)) {
            return;
        }
        followLinkChanges();
        if (this.settings.scheduling()) {
            this.scheduler = createScheduler();
            this.tasks.add(this.scheduler.scheduleAtFixedRate(this::refresh, this.settings.refreshPeriod()));
        }
        if (this.server != null) {
            // The first heartbeat is synchronous, so the pod is routable once the context has started.
            this.server.start();
            followLinkChanges();
            if (this.scheduler != null) {
                this.tasks.add(this.scheduler.scheduleAtFixedRate(this.server::heartbeat,
                        Instant.now().plus(this.settings.heartbeatPeriod()), this.settings.heartbeatPeriod()));
            }
        }
    }

    private static ThreadPoolTaskScheduler createScheduler() {
        ThreadPoolTaskScheduler scheduler = new ThreadPoolTaskScheduler();
        // One thread per task, so a heartbeat waiting on a slow Redis never delays a refresh.
        scheduler.setPoolSize(2);
        scheduler.setThreadNamePrefix("stateful-route-");
        scheduler.setDaemon(true);
        scheduler.setRemoveOnCancelPolicy(true);
        scheduler.setWaitForTasksToCompleteOnShutdown(false);
        scheduler.initialize();
        return scheduler;
    }

    /**
     * Subscribes the client and the pod to link change notices: the client evicts moved
     * links, the pod learns when another writer took one of its users. A failed subscription
     * (Redis down) is retried on every refresh; an executor that cannot subscribe at all is
     * logged once.
     */
    private void followLinkChanges() {
        if (!this.settings.followLinkChanges() || this.linkChangesUnavailable) {
            return;
        }
        StatefulRouteForClientDriver client = this.client;
        if (client != null && !this.followingLinkChanges) {
            this.followingLinkChanges = subscribe(client::listenForLinkChanges);
        }
        StatefulRouteForServerDriver server = this.server;
        if (server != null && server.isRunning() && !this.podFollowingLinkChanges) {
            this.podFollowingLinkChanges = subscribe(server::followLinkChanges);
        }
    }

    private boolean subscribe(Runnable subscription) {
        try {
            subscription.run();
            return true;
        }
        catch (IllegalStateException | UnsupportedOperationException ex) {
            logger.warn("Link change notices are off, cached links live for their whole TTL and pods learn of lost "
                    + "users only when their lease lapses: {}", ex.getMessage());
            this.linkChangesUnavailable = true;
        }
        catch (RuntimeException ex) {
            logger.warn("Cannot subscribe to link change notices yet, will retry: {}", ex.getMessage());
        }
        return false;
    }

    /** Skips a refresh while the previous one still waits for Redis, so slow replies never pile up. */
    private void refresh() {
        CompletableFuture<Void> previous = this.refreshing;
        if (previous == null || previous.isDone()) {
            long started = System.nanoTime();
            CompletableFuture<Void> refresh = this.states.refreshAsync();
            refresh.whenComplete((done, ex) -> this.refreshListener.refreshed(System.nanoTime() - started, ex));
            followLinkChanges();
            StatefulRouteForClientDriver client = this.client;
            if (client != null && this.followingLinkChanges) {
                refresh = CompletableFuture.allOf(refresh, client.checkLinkChanges());
            }
            this.refreshing = refresh;
        }
    }

    @Override
    public void stop(Runnable callback) {
        if (!this.running.compareAndSet(true, false)) {
            callback.run();
            return;
        }
        StatefulRouteForServerDriver server = this.server;
        if (server == null) {
            stopTasks();
            callback.run();
            return;
        }
        server.stopAsync()
            .orTimeout(this.settings.stopTimeout().toMillis(), TimeUnit.MILLISECONDS)
            .whenComplete((stopped, ex) -> {
                if (ex != null) {
                    logger.warn("Pod {} did not finish stopping within {}: {}", server.identity(),
                            this.settings.stopTimeout(), ex.toString());
                }
                stopTasks();
                callback.run();
            });
    }

    @Override
    public void stop() {
        CountDownLatch stopped = new CountDownLatch(1);
        stop(stopped::countDown);
        try {
            stopped.await(this.settings.stopTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void stopTasks() {
        this.tasks.forEach((task) -> task.cancel(false));
        this.tasks.clear();
        if (this.scheduler != null) {
            this.scheduler.shutdown();
            this.scheduler = null;
        }
        StatefulRouteForClientDriver client = this.client;
        if (client != null && this.followingLinkChanges) {
            client.stopListeningForLinkChanges();
            this.followingLinkChanges = false;
        }
    }

    @Override
    public boolean isRunning() {
        return this.running.get();
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /**
     * Periods and switches of a {@link StatefulRouteLifecycle}.
     * @param refreshPeriod period of the state cache refresh and the link change check
     * @param heartbeatPeriod period of the heartbeat
     * @param stopTimeout longest a stop may take (at least the drain period plus the Redis
     * command timeout); the callback runs then even if Redis never answered
     * @param scheduling whether to run the periodic tasks on the lifecycle's own scheduler
     * @param followLinkChanges whether the client subscribes to link change notices
     */
    public record Settings(Duration refreshPeriod, Duration heartbeatPeriod, Duration stopTimeout,
            boolean scheduling, boolean followLinkChanges) {
    }

}
