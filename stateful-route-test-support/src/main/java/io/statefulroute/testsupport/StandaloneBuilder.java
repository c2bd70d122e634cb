package io.statefulroute.testsupport;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds one standalone Redis server. Obtain with {@link RedisServers#standalone()}.
 * <p>
 * The server runs, in order of preference, in a Testcontainers {@code redis:7.2} container (if a
 * Docker engine is reachable and the container starts), as a {@code redis-server} from the PATH, or
 * as the Redis 6.2 binary bundled in the embedded-redis jar. It is never skipped: if nothing can
 * run, {@link #start()} throws.
 */
public final class StandaloneBuilder {

    private static final Logger LOG = LoggerFactory.getLogger(StandaloneBuilder.class);

    private final List<String> args = new ArrayList<>();
    private boolean embeddedOnly;
    private TlsSettings tls;

    StandaloneBuilder() {
    }

    /**
     * Adds {@code redis-server} command-line options, e.g. {@code args("--appendonly", "yes")}.
     * An option given here replaces the defaults ({@code --save ""}, {@code --appendonly no}, ...).
     * Port, bind address and data directory are managed by this class and should not be set.
     */
    public StandaloneBuilder args(String... redisServerArgs) {
        args.addAll(List.of(redisServerArgs));
        return this;
    }

    /**
     * Serves TLS only: the server's port speaks TLS ({@code --tls-port}, {@code --port 0}) with the
     * given PEM files, and clients need no certificate of their own ({@code --tls-auth-clients no}).
     * {@link RedisServer#uri()} then starts with {@code rediss://}. Runs a local binary, never a
     * container; {@link #start()} fails with the server log if the binary was built without TLS.
     * {@link SelfSignedCertificate} makes suitable files.
     */
    public StandaloneBuilder tls(Path certificateFile, Path privateKeyFile, Path caCertificateFile) {
        tls = new TlsSettings(certificateFile, privateKeyFile, caCertificateFile);
        return this;
    }

    /** Uses the embedded-redis binary (Redis 6.2) even if Docker or a newer redis-server is available. */
    public StandaloneBuilder embeddedOnly() {
        embeddedOnly = true;
        return this;
    }

    /**
     * Starts the server and returns once it answers PING. The caller owns it and should
     * {@link RedisServer#close() close} it.
     *
     * @throws IllegalStateException if no way of running Redis works; the message says what failed
     */
    public RedisServer start() {
        List<String> extraArgs = List.copyOf(args);
        RedisServer server = null;
        if (!embeddedOnly && tls == null && Backends.dockerAvailable()) {
            try {
                server = ContainerRedisServer.launch(extraArgs);
            } catch (RuntimeException e) { // e.g. image pull impossible offline
                LOG.warn("Redis via Testcontainers failed, falling back to a local binary: {}", e.toString());
            }
        }
        if (server == null) {
            server = ProcessRedisServer.launch(Backends.processBinary(embeddedOnly), extraArgs, tls);
        }
        LOG.info("Started Redis {} ({}) at {}", server.version(), server.kind(), server.uri());
        return server;
    }
}
