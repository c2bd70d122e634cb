package io.statefulroute.lifecycle;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledFuture;

import io.statefulroute.analyzer.PerformanceAnalyzer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.context.SmartLifecycle;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;

/**
 * Runs the {@link PerformanceAnalyzer} on a period, on a one-thread scheduler of its own that
 * is never a bean (so it neither becomes the application's {@code TaskScheduler} nor needs
 * {@code @EnableScheduling}); started and stopped with the application context.
 */
public class PerformanceAnalyzerLifecycle implements SmartLifecycle {

    private static final Logger logger = LoggerFactory.getLogger(PerformanceAnalyzerLifecycle.class);

    private final PerformanceAnalyzer analyzer;

    private final Duration period;

    private @Nullable ThreadPoolTaskScheduler scheduler;

    private @Nullable ScheduledFuture<?> task;

    /**
     * Creates a lifecycle.
     * @param analyzer the analyzer to run
     * @param period time between runs; the first runs one period after the start
     */
    public PerformanceAnalyzerLifecycle(PerformanceAnalyzer analyzer, Duration period) {
        this.analyzer = analyzer;
        this.period = period;
    }

    @Override
    public synchronized void start() {
        if (this.scheduler != null) {
            return;
        }
        ThreadPoolTaskScheduler scheduler = new ThreadPoolTaskScheduler();
        scheduler.setPoolSize(1);
        scheduler.setThreadNamePrefix("stateful-route-analyzer-");
        scheduler.setDaemon(true);
        scheduler.setWaitForTasksToCompleteOnShutdown(false);
        scheduler.initialize();
        this.scheduler = scheduler;
        this.task = scheduler.scheduleAtFixedRate(this::analyze, Instant.now().plus(this.period), this.period);
    }

    private void analyze() {
        try {
            this.analyzer.analyze();
        }
        catch (RuntimeException ex) {
            logger.warn("Performance analysis failed", ex);
        }
    }

    @Override
    public synchronized void stop() {
        if (this.task != null) {
            this.task.cancel(false);
            this.task = null;
        }
        if (this.scheduler != null) {
            this.scheduler.shutdown();
            this.scheduler = null;
        }
    }

    @Override
    public synchronized boolean isRunning() {
        return this.scheduler != null;
    }

    /** Stops before {@link StatefulRouteLifecycle}, whose meters it reads. */
    @Override
    public int getPhase() {
        return StatefulRouteLifecycle.PHASE + 1;
    }

}
