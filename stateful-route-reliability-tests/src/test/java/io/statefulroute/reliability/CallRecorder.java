package io.statefulroute.reliability;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/**
 * Times calls and sorts their outcomes: successes, failures by exception type, the slowest call,
 * and the first and last failure and the first success after a given moment (all on
 * {@link System#nanoTime()}).
 */
final class CallRecorder {

    private final LongAdder successes = new LongAdder();

    private final Map<String, LongAdder> failures = new ConcurrentHashMap<>();

    private final Map<String, String> sampleMessages = new ConcurrentHashMap<>();

    private final LongAccumulator maxNanos = new LongAccumulator(Math::max, 0);

    private final LongAccumulator firstFailure = new LongAccumulator(Math::min, Long.MAX_VALUE);

    private final LongAccumulator lastFailure = new LongAccumulator(Math::max, Long.MIN_VALUE);

    private final AtomicLong successesAfterMark = new AtomicLong();

    private final LongAccumulator firstSuccessAfterMark = new LongAccumulator(Math::min, Long.MAX_VALUE);

    private volatile long mark = Long.MAX_VALUE;

    /** Runs the call, recording its duration and outcome; returns its result, or -1 when it failed. */
    int call(IntSupplier call) {
        long started = System.nanoTime();
        try {
            int result = call.getAsInt();
            long ended = System.nanoTime();
            this.maxNanos.accumulate(ended - started);
            this.successes.increment();
            if (started - this.mark >= 0) {
                this.successesAfterMark.incrementAndGet();
                this.firstSuccessAfterMark.accumulate(ended);
            }
            return result;
        }
        catch (RuntimeException ex) {
            long ended = System.nanoTime();
            this.maxNanos.accumulate(ended - started);
            this.failures.computeIfAbsent(ex.getClass().getSimpleName(), (type) -> new LongAdder()).increment();
            this.sampleMessages.putIfAbsent(ex.getClass().getSimpleName(), String.valueOf(ex.getMessage()));
            this.firstFailure.accumulate(ended);
            this.lastFailure.accumulate(ended);
            return -1;
        }
    }

    /** From now on, successes of calls started after this moment are counted separately. */
    void mark() {
        this.mark = System.nanoTime();
    }

    long successes() {
        return this.successes.sum();
    }

    long successesAfterMark() {
        return this.successesAfterMark.get();
    }

    /** Nanos from the mark to the end of the first call started after it that succeeded, or -1. */
    long firstSuccessAfterMarkNanos() {
        long first = this.firstSuccessAfterMark.get();
        return (first == Long.MAX_VALUE) ? -1 : first - this.mark;
    }

    Map<String, Long> failures() {
        Map<String, Long> byType = new TreeMap<>();
        this.failures.forEach((type, count) -> byType.put(type, count.sum()));
        return byType;
    }

    /** The first message seen of each failure type. */
    Map<String, String> sampleMessages() {
        return new TreeMap<>(this.sampleMessages);
    }

    long failureCount() {
        return this.failures.values().stream().mapToLong(LongAdder::sum).sum();
    }

    long maxNanos() {
        return this.maxNanos.get();
    }

    /** Nanos between the first and the last failure, or 0 when there was none. */
    long failureWindowNanos() {
        return (failureCount() == 0) ? 0 : this.lastFailure.get() - this.firstFailure.get();
    }

    long firstFailureNanoTime() {
        return this.firstFailure.get();
    }

    long lastFailureNanoTime() {
        return this.lastFailure.get();
    }

    @Override
    public String toString() {
        return successes() + " ok, failures " + failures() + ", slowest " + Figures.millis(maxNanos());
    }
}
