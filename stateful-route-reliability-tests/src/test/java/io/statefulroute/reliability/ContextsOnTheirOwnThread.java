package io.statefulroute.reliability;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Runs application contexts on a cluster on a thread of their own: after a cluster failover,
 * closing Spring Data Redis' cluster client can hang in {@code RedisClusterClient.shutdown} (a
 * topology refresh racing the shutdown, Lettuce issues 2904 and 3089, open). The checks must not
 * wait on that: their outcome is reported before the contexts close, and the hang is a figure.
 */
final class ContextsOnTheirOwnThread {

    /** Checks run inside the contexts. */
    @FunctionalInterface
    interface Checks {

        void run() throws Exception;

    }

    private ContextsOnTheirOwnThread() {
    }

    /**
     * Runs {@code contexts} on a new thread; it must run its checks through {@link #report} with
     * the future it is given. Rethrows what the checks threw, waits at most 30 s for the contexts
     * to close and prints whether they did.
     */
    static void run(String test, Consumer<CompletableFuture<Void>> contexts) throws Exception {
        CompletableFuture<Void> checked = new CompletableFuture<>();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                contexts.accept(checked);
                closed.complete(null);
            }
            catch (Throwable ex) {
                checked.completeExceptionally(ex);
                closed.completeExceptionally(ex);
            }
        }, test + "-contexts");
        thread.setDaemon(true);
        thread.start();
        try {
            checked.get(120, TimeUnit.SECONDS);
        }
        catch (ExecutionException ex) {
            throw (ex.getCause() instanceof Exception cause) ? cause : ex;
        }
        try {
            closed.get(30, TimeUnit.SECONDS);
            Figures.print(test, "application contexts closed after the failover", "yes");
        }
        catch (TimeoutException ex) {
            Figures.print(test, "application contexts closed after the failover",
                    "NO: LettuceConnectionFactory.stop still waits in RedisClusterClient.shutdown after 30 s");
        }
    }

    /** Runs the checks and reports their outcome at once, before the contexts close. */
    static void report(CompletableFuture<Void> checked, Checks checks) throws Exception {
        try {
            checks.run();
            checked.complete(null);
        }
        catch (Exception | Error ex) {
            checked.completeExceptionally(ex);
            throw ex;
        }
    }
}
