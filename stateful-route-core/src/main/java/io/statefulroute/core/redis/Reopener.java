package io.statefulroute.core.redis;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.lettuce.core.RedisException;

/**
 * Opens the executor's dropped connections again as soon as Redis takes connections, instead
 * of leaving them to the Lettuce client's reconnect backoff (doubling up to 30 s unless the
 * application configured otherwise): after a 10 s outage that backoff let some pods' first
 * heartbeat come 7 s after Redis was back, long enough for gateways to move their users. Each
 * connection is checked every {@value #INTERVAL_MILLIS} ms on a thread of its own, which also
 * makes the attempts, one at a time; a connection that opens replaces the dropped one. The
 * application's own connections and its client's settings are left alone.
 */
final class Reopener implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(Reopener.class);

    /** How often dropped connections are looked for, and tried again while Redis refuses them. */
    static final long INTERVAL_MILLIS = 250;

    /** A connection that may drop. */
    interface Watched {

        /** Whether the connection dropped (Lettuce is waiting to reconnect it). */
        boolean isDown();

        /**
         * Opens a new connection in place of the dropped one.
         * @throws RedisException while Redis does not take connections
         */
        void reopen();
    }

    private final List<Watched> watched = new CopyOnWriteArrayList<>();

    private final ScheduledExecutorService thread;

    Reopener() {
        this.thread = Executors.newSingleThreadScheduledExecutor((task) -> {
            Thread reopening = new Thread(task, "stateful-route-reopen");
            reopening.setDaemon(true);
            return reopening;
        });
        this.thread.scheduleWithFixedDelay(this::reopenDropped, INTERVAL_MILLIS, INTERVAL_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    /** Watches a connection until the returned handle is closed. */
    AutoCloseable watch(Watched connection) {
        this.watched.add(connection);
        return () -> this.watched.remove(connection);
    }

    private void reopenDropped() {
        for (Watched connection : this.watched) {
            try {
                if (connection.isDown()) {
                    connection.reopen();
                }
            }
            catch (RedisException ex) {
                logger.debug("Redis does not take connections yet: {}", ex.getMessage());
            }
            catch (RuntimeException ex) {
                logger.warn("Reopening a dropped Redis connection failed", ex);
            }
        }
    }

    @Override
    public void close() {
        this.thread.shutdownNow();
    }
}
