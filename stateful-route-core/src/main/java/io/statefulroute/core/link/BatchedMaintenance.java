package io.statefulroute.core.link;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs the link cache's maintenance (Caffeine's buffer draining and size eviction) on a
 * thread that writes the cache, once per {@value #WRITES_PER_RUN} writes instead of after
 * each.
 *
 * <p>Caffeine asks for maintenance after every write that finds it idle. Run at once, as a
 * direct executor does, that was half the cost of caching a new user's link, on the I/O
 * thread every async call completes on (JFR, 50 calls in flight); handed to a pool, each
 * request woke a thread. Held here, a request waits for the next batch: meanwhile writes
 * only queue their events, in a buffer of 128 per CPU, several batches deep (were it ever
 * full, Caffeine would run the maintenance on the writer itself). Until the batch runs, the
 * cache may hold up to a batch of links more than its maximum.
 */
final class BatchedMaintenance implements Executor {

    static final int WRITES_PER_RUN = 32;

    private final AtomicReference<Runnable> pending = new AtomicReference<>();

    private final AtomicInteger writes = new AtomicInteger();

    /** Caffeine's request: kept for the next batch. */
    @Override
    public void execute(Runnable maintenance) {
        this.pending.set(maintenance);
    }

    /** Counts a write to the cache; every {@value #WRITES_PER_RUN}th runs the maintenance asked for. */
    void written() {
        if (this.writes.incrementAndGet() % WRITES_PER_RUN == 0) {
            runPending();
        }
    }

    /** Runs the maintenance asked for, if any (before figures are read). */
    void runPending() {
        Runnable maintenance = this.pending.getAndSet(null);
        if (maintenance != null) {
            maintenance.run();
        }
    }
}
