package io.statefulroute.testsupport;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A flood of asynchronous calls that are all expected to fail in a known way (hostile names,
 * say), with a bounded number in flight, and now and then a call that must keep succeeding
 * meanwhile.
 */
public final class Flood {

    private final int inFlight;

    private final int sideCallEvery;

    private final Supplier<CompletableFuture<Boolean>> sideCall;

    /**
     * @param inFlight calls outstanding at most
     * @param sideCallEvery one side call after every this many flood calls
     * @param sideCall the call that must keep working; completes with whether its answer was right
     */
    public Flood(int inFlight, int sideCallEvery, Supplier<CompletableFuture<Boolean>> sideCall) {
        this.inFlight = inFlight;
        this.sideCallEvery = sideCallEvery;
        this.sideCall = sideCall;
    }

    /** What a flood saw, once every call has completed. */
    public record Result(int failedAsExpected, List<Throwable> unexpected, int sideCallsRight) {
    }

    /** Runs {@code count} calls and waits for all of them (and the side calls) to complete. */
    public Result run(int count, IntFunction<? extends CompletableFuture<?>> call, Predicate<Throwable> expectedFailure)
            throws InterruptedException {
        Semaphore permits = new Semaphore(this.inFlight);
        AtomicInteger failedAsExpected = new AtomicInteger();
        AtomicInteger sideCallsRight = new AtomicInteger();
        List<Throwable> unexpected = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            permits.acquire();
            call.apply(i).whenComplete((answer, ex) -> {
                Throwable cause = (ex instanceof CompletionException && ex.getCause() != null) ? ex.getCause() : ex;
                if (cause != null && expectedFailure.test(cause)) {
                    failedAsExpected.incrementAndGet();
                }
                else {
                    synchronized (unexpected) {
                        unexpected.add((cause != null) ? cause : new AssertionError("answered " + answer));
                    }
                }
                permits.release();
            });
            if (i % this.sideCallEvery == 0) {
                permits.acquire();
                this.sideCall.get().whenComplete((right, ex) -> {
                    if (ex == null && right) {
                        sideCallsRight.incrementAndGet();
                    }
                    permits.release();
                });
            }
        }
        permits.acquire(this.inFlight);
        synchronized (unexpected) {
            return new Result(failedAsExpected.get(), List.copyOf(unexpected), sideCallsRight.get());
        }
    }
}
