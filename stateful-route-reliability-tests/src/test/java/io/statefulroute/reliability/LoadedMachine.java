package io.statefulroute.reliability;

import java.time.Duration;

/** What these tests allow for the shared 2-core machines they run on. */
final class LoadedMachine {

    /**
     * How late a loaded machine may be in waking a caller whose call timed out, or in running a
     * scheduled task.
     */
    static final Duration LATENESS = Duration.ofMillis(500);

    private LoadedMachine() {
    }
}
