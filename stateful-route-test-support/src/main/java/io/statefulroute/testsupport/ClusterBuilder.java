package io.statefulroute.testsupport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a Redis Cluster of 3 masters with 1 replica each (6 processes on 127.0.0.1). Obtain with
 * {@link RedisServers#cluster()}.
 * <p>
 * The nodes run as a {@code redis-server} from the PATH, or else as the Redis 6.2 binary bundled in
 * the embedded-redis jar. Testcontainers is not used for clusters: cluster nodes advertise the
 * address they see themselves at (the container's internal IP and port), which clients on the host
 * cannot reach without host networking, which Docker Desktop lacks.
 */
public final class ClusterBuilder {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterBuilder.class);

    private boolean embeddedOnly;

    ClusterBuilder() {
    }

    /** Uses the embedded-redis binary (Redis 6.2) even if a newer redis-server is on the PATH. */
    public ClusterBuilder embeddedOnly() {
        embeddedOnly = true;
        return this;
    }

    /**
     * Starts the 6 nodes, forms the cluster and returns once every node reports
     * {@code cluster_state:ok} with all 16384 slots covered and every replica's link to its master
     * is up. The caller owns the cluster and should {@link RedisCluster#close() close} it.
     *
     * @throws IllegalStateException if a node does not start or the cluster does not form in time
     */
    public RedisCluster start() {
        ProcessRedisCluster cluster = ProcessRedisCluster.launch(Backends.processBinary(embeddedOnly));
        LOG.info("Started Redis Cluster {} ({}) at {}", cluster.masters().get(0).version(), cluster.kind(),
                cluster.nodesProperty());
        return cluster;
    }
}
