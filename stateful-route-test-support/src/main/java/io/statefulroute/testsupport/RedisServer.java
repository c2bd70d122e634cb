package io.statefulroute.testsupport;

/**
 * A real Redis server started for tests, listening on a loopback port chosen when it was built.
 * <p>
 * The port is fixed for the life of the object: {@link #stop()} followed by {@link #start()}
 * brings the server back on the same port with the same data directory, so data survives a
 * restart when persistence (e.g. {@code --appendonly yes}) is enabled. Processes still running at
 * JVM exit are destroyed by a shutdown hook.
 */
public interface RedisServer extends AutoCloseable {

    /** The host to connect to; {@code "127.0.0.1"} for local processes. */
    String host();

    /** The port to connect to; never changes for this object. */
    int port();

    /** {@code "redis://host:port"}, usable by Lettuce and Spring Data Redis. */
    String uri();

    /** How the server runs: {@code "testcontainers"}, {@code "redis-server"} or {@code "embedded-redis"}. */
    String kind();

    /** The server's {@code redis_version} from {@code INFO server}, e.g. {@code "7.0.15"}. */
    String version();

    /** Stops the server process (no-op if already stopped). The port stays reserved for {@link #start()}. */
    void stop();

    /**
     * Starts a stopped server again on the same port and data directory and returns once it
     * answers PING (no-op if running).
     *
     * @throws IllegalStateException if it does not come up in time, or after {@link #close()}
     */
    void start();

    /** True while the server process runs. */
    boolean isRunning();

    /**
     * Kills the server process at once ({@code SIGKILL}): no AOF flush, no goodbye to replicas or
     * clients, as a crashed machine. {@link #start()} brings it back on the same port.
     *
     * @throws UnsupportedOperationException where the server is not a local process
     */
    default void kill() {
        throw new UnsupportedOperationException(kind() + " servers cannot be killed by a test");
    }

    /**
     * Freezes the server process ({@code SIGSTOP}): its connections stay open and its clients'
     * bytes wait in the kernel, as behind a frozen VM or a long pause, until {@link #thaw()}.
     *
     * @throws UnsupportedOperationException where the server is not a local process
     */
    default void freeze() {
        throw new UnsupportedOperationException(kind() + " servers cannot be frozen by a test");
    }

    /** Lets a frozen server run on ({@code SIGCONT}): it answers what waited, as if no time had passed for it. */
    default void thaw() {
        throw new UnsupportedOperationException(kind() + " servers cannot be frozen by a test");
    }

    /** Stops the server and deletes its temporary files. Idempotent; the object cannot be restarted afterwards. */
    @Override
    void close();
}
