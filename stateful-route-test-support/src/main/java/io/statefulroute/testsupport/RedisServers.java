package io.statefulroute.testsupport;


/**
 * Entry point: real Redis servers for tests, on free loopback ports (never the default 6379).
 * <p>
 * Standalone servers prefer Testcontainers ({@code redis:7.2}) when a Docker engine is reachable,
 * then a {@code redis-server} on the PATH, then the Redis 6.2 binary bundled in the embedded-redis
 * jar. Clusters and Sentinels use the last two only (see {@link ClusterBuilder}). Which kind and version was used
 * is logged at INFO. Nothing is ever skipped: if no kind works, {@code start()} throws.
 */
public final class RedisServers {

    private static RedisServer shared;

    private RedisServers() {
    }

    /** Builder for one standalone server. */
    public static StandaloneBuilder standalone() {
        return new StandaloneBuilder();
    }

    /**
     * A standalone server shared by all tests of this JVM, started on first use (thread-safe) and
     * stopped at JVM exit. Tests must not stop it: {@code stop()}, {@code start()} and
     * {@code close()} on it throw {@link UnsupportedOperationException}. Tests sharing it should use
     * distinct keys (or flush it themselves) since data persists between tests.
     */
    public static synchronized RedisServer shared() {
        if (shared == null) {
            shared = new Shared(standalone().start());
        }
        return shared;
    }

    /** Builder for a Redis Cluster of 3 masters with 1 replica each (6 processes), all on loopback. */
    public static ClusterBuilder cluster() {
        return new ClusterBuilder();
    }

    /** Builder for a master, a replica and three Sentinels watching them, all on loopback. */
    public static SentinelBuilder sentinel() {
        return new SentinelBuilder();
    }

    /** Delegates to the real server but refuses lifecycle calls; the real one is closed at JVM exit. */
    private static final class Shared implements RedisServer {
        private final RedisServer delegate;

        Shared(RedisServer delegate) {
            this.delegate = delegate;
            Runtime.getRuntime().addShutdownHook(new Thread(delegate::close, "redis-test-shared-server-cleanup"));
        }

        @Override
        public String host() {
            return delegate.host();
        }

        @Override
        public int port() {
            return delegate.port();
        }

        @Override
        public String uri() {
            return delegate.uri();
        }

        @Override
        public String kind() {
            return delegate.kind();
        }

        @Override
        public String version() {
            return delegate.version();
        }

        @Override
        public boolean isRunning() {
            return delegate.isRunning();
        }

        @Override
        public void stop() {
            throw refused("stop");
        }

        @Override
        public void start() {
            throw refused("start");
        }

        @Override
        public void close() {
            throw refused("close");
        }

        @Override
        public String toString() {
            return "shared " + delegate;
        }

        private static UnsupportedOperationException refused(String operation) {
            return new UnsupportedOperationException(operation + "() is not allowed on RedisServers.shared(), "
                    + "which lives until JVM exit; use RedisServers.standalone().start() for a server you control");
        }
    }
}
