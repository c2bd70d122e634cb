package io.statefulroute.testsupport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a Redis Sentinel setup: one master, one replica, three Sentinels ({@code redis-server
 * <config> --sentinel}), all on 127.0.0.1. Obtain with {@link RedisServers#sentinel()}.
 * <p>
 * The processes run as a {@code redis-server} from the PATH, or else as the Redis 6.2 binary
 * bundled in the embedded-redis jar (which has Sentinel mode too). Testcontainers is not used,
 * for the reason given in {@link ClusterBuilder}: Sentinels hand clients the master's address as
 * they see it, which clients on the host could not reach in a container. Nothing is skipped: if
 * no binary can run a Sentinel, {@link #start()} throws saying so.
 */
public final class SentinelBuilder {

    private static final Logger LOG = LoggerFactory.getLogger(SentinelBuilder.class);

    private boolean embeddedOnly;

    SentinelBuilder() {
    }

    /** Uses the embedded-redis binary (Redis 6.2) even if a newer redis-server is on the PATH. */
    public SentinelBuilder embeddedOnly() {
        embeddedOnly = true;
        return this;
    }

    /**
     * Starts the five processes and returns once the replica is attached and every Sentinel
     * knows the master, its replica and the other two Sentinels. The caller owns the setup and
     * should {@link RedisSentinel#close() close} it.
     *
     * @throws IllegalStateException if a process does not start or the Sentinels do not agree in time
     */
    public RedisSentinel start() {
        ProcessRedisSentinel sentinel = ProcessRedisSentinel.launch(Backends.processBinary(embeddedOnly));
        LOG.info("Started Redis Sentinel {} ({}): master {}, sentinels {}", sentinel.master().version(),
                sentinel.kind(), sentinel.master().uri(), sentinel.sentinelNodesProperty());
        return sentinel;
    }
}
