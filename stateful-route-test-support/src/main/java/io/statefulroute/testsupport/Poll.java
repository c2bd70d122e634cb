package io.statefulroute.testsupport;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Bounded polling: checks a condition every few milliseconds until it holds or a deadline passes. */
final class Poll {

    private static final long INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(25);

    private Poll() {
    }

    /**
     * Returns as soon as {@code condition} is true; otherwise throws {@link IllegalStateException}
     * with {@code failure} as message once {@code timeout} has passed. Exceptions from the
     * condition count as "not yet".
     */
    static void until(Duration timeout, BooleanSupplier condition, Supplier<String> failure) {
        if (!await(timeout, condition)) {
            throw new IllegalStateException(failure.get() + " (waited " + timeout.toMillis() + " ms)");
        }
    }

    /** Returns true as soon as {@code condition} is true, false once {@code timeout} has passed. */
    static boolean await(Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                if (condition.getAsBoolean()) {
                    return true;
                }
            } catch (RuntimeException notYet) {
                // keep polling
            }
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            LockSupport.parkNanos(INTERVAL_NANOS);
        }
    }
}
