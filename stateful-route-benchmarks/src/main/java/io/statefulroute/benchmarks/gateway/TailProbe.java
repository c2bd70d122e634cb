package io.statefulroute.benchmarks.gateway;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

import com.sun.management.GarbageCollectionNotificationInfo;
import io.netty.util.concurrent.EventExecutor;
import io.statefulroute.core.link.RouteListener;
import io.statefulroute.core.link.RouteOutcome;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import reactor.netty.http.HttpResources;

/**
 * Where a run's tail latency comes from, measured inside the JVM that runs the gateway and
 * the pods, one interval per {@code wrk} run:
 * <ul>
 * <li><b>the balancer's own work</b>: every routing decision of the gateway's client driver,
 * by outcome (answered from the cache, or with a Redis round trip: a returning user's link read
 * or a new user's link written), as the driver reports it to its {@link RouteListener}s;</li>
 * <li><b>the event loop</b>: how long a task handed to each of the shared Reactor Netty event
 * loops (the gateway's server and client connections, and the pods') waits before it runs,
 * probed every millisecond from a thread of its own, so it is what any request's next step
 * waits, without a timer's granularity;</li>
 * <li><b>the collector</b>: every stop-the-world pause of the run.</li>
 * </ul>
 * The same probe runs during the round robin runs, which make no decisions: the loop and the
 * collector figures of the two routes side by side tell whether the balancer loads the loops.
 */
final class TailProbe implements RouteListener, AutoCloseable {

    private static final long PROBE_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private static final long HIGHEST_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final Recorder cacheHits = new Recorder(HIGHEST_NANOS, 2);

    private final Map<RouteOutcome, Recorder> resolved = new EnumMap<>(RouteOutcome.class);

    private final Recorder loopWaits = new Recorder(HIGHEST_NANOS, 2);

    private final Recorder pauses = new Recorder(HIGHEST_NANOS, 2);

    private final List<Runnable> unsubscribe = new ArrayList<>();

    private volatile Thread prober;

    TailProbe() {
        for (RouteOutcome outcome : RouteOutcome.values()) {
            this.resolved.put(outcome, new Recorder(HIGHEST_NANOS, 2));
        }
    }

    @Override
    public void cacheHit(String namespace, String service, long nanos) {
        this.cacheHits.recordValue(Math.min(nanos, HIGHEST_NANOS));
    }

    @Override
    public void resolved(Object token, String namespace, String service, RouteOutcome outcome, long nanos,
            Throwable error) {
        this.resolved.get(outcome).recordValue(Math.min(nanos, HIGHEST_NANOS));
    }

    /** Starts probing the event loops and listening to the collector; once all apps run. */
    void start() {
        List<EventExecutor> loops = new ArrayList<>();
        HttpResources.get().onServer(true).forEach(loops::add);
        Thread thread = new Thread(() -> probe(loops), "tail-probe");
        thread.setDaemon(true);
        this.prober = thread;
        thread.start();
        for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (collector instanceof NotificationEmitter emitter) {
                NotificationListener listener = this::collected;
                emitter.addNotificationListener(listener, null, null);
                this.unsubscribe.add(() -> {
                    try {
                        emitter.removeNotificationListener(listener);
                    }
                    catch (javax.management.ListenerNotFoundException ex) {
                        throw new IllegalStateException(ex);
                    }
                });
            }
        }
    }

    private void probe(List<EventExecutor> loops) {
        while (this.prober == Thread.currentThread()) {
            for (EventExecutor loop : loops) {
                long handed = System.nanoTime();
                loop.execute(() -> this.loopWaits.recordValue(Math.min(System.nanoTime() - handed, HIGHEST_NANOS)));
            }
            LockSupport.parkNanos(PROBE_PERIOD_NANOS);
        }
    }

    private void collected(Notification notification, Object handback) {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType())) {
            return;
        }
        GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo
            .from((CompositeData) notification.getUserData());
        // concurrent cycles stop no thread; their durations are not pauses
        if (!info.getGcName().contains("Concurrent")) {
            this.pauses.recordValue(Math.min(TimeUnit.MILLISECONDS.toNanos(info.getGcInfo().getDuration()),
                    HIGHEST_NANOS));
        }
    }

    /** Forgets what was recorded so far: the next {@link #interval} covers from now. */
    void reset() {
        interval();
    }

    /** What was recorded since the last call. */
    Interval interval() {
        Map<RouteOutcome, Histogram> decisions = new EnumMap<>(RouteOutcome.class);
        this.resolved.forEach((outcome, recorder) -> decisions.put(outcome, recorder.getIntervalHistogram()));
        return new Interval(this.cacheHits.getIntervalHistogram(), decisions, this.loopWaits.getIntervalHistogram(),
                this.pauses.getIntervalHistogram());
    }

    @Override
    public void close() {
        this.prober = null;
        this.unsubscribe.forEach(Runnable::run);
    }

    /** One run's figures. */
    record Interval(Histogram cacheHits, Map<RouteOutcome, Histogram> decisions, Histogram loopWaits,
            Histogram pauses) {

        /** One line: count, p99 and max of each source that saw anything; times in ms. */
        String describe() {
            StringBuilder line = new StringBuilder();
            if (this.cacheHits.getTotalCount() > 0) {
                line.append("cache hits ").append(figures(this.cacheHits)).append("; ");
            }
            this.decisions.forEach((outcome, histogram) -> {
                if (histogram.getTotalCount() > 0) {
                    line.append(outcome.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '))
                        .append(' ').append(figures(histogram)).append("; ");
                }
            });
            line.append("loop wait ").append(figures(this.loopWaits)).append("; ");
            line.append(String.format("GC pauses %d, %.1f ms in all, max %.1f ms", this.pauses.getTotalCount(),
                    total(this.pauses) / 1e6, this.pauses.getMaxValue() / 1e6));
            return line.toString();
        }

        private static String figures(Histogram histogram) {
            return String.format("%d: p99 %.3f max %.2f ms", histogram.getTotalCount(),
                    histogram.getValueAtPercentile(99) / 1e6, histogram.getMaxValue() / 1e6);
        }

        private static double total(Histogram histogram) {
            return histogram.getMean() * histogram.getTotalCount();
        }
    }

}
