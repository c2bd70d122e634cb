package io.statefulroute.testsupport;

import java.util.List;

/**
 * A Redis Cluster of 3 masters with 1 replica each, all on 127.0.0.1, fully formed: every node
 * reports {@code cluster_state:ok}, all 16384 slots are covered and each replica is attached to
 * its master. Master {@code i} serves slots {@code 0-5460}, {@code 5461-10922} or
 * {@code 10923-16383} and {@code replicas().get(i)} replicates it.
 */
public interface RedisCluster extends AutoCloseable {

    /** The 3 masters, in slot order. After {@link #failOverMasterOf} the promoted replica takes its master's place. */
    List<RedisServer> masters();

    /** The 3 replicas; {@code replicas().get(i)} replicates {@code masters().get(i)}. */
    List<RedisServer> replicas();

    /** {@code "127.0.0.1:PORT"} of every node, masters first. */
    List<String> nodes();

    /** {@link #nodes()} joined with commas, for {@code spring.data.redis.cluster.nodes}. */
    String nodesProperty();

    /**
     * Waits until the replica has every write of the master serving {@code key}'s slot (so no write
     * is lost), stops that master, promotes its replica with
     * {@code CLUSTER FAILOVER TAKEOVER}, and returns once every running node reports
     * {@code cluster_state:ok} and sees the replica as master. Returns the stopped former master:
     * after {@link RedisServer#start()} it rejoins as a replica of the new master. The roles in
     * {@link #masters()} and {@link #replicas()} are swapped accordingly.
     *
     * @throws IllegalStateException if the cluster does not recover in time
     */
    RedisServer failOverMasterOf(String key);

    /**
     * Fails over the master serving {@code key}'s slot the way {@code fault} says, without waiting
     * for its replica to catch up first ({@link PrimaryFault#PLANNED} is {@code CLUSTER FAILOVER}
     * on the replica, which Redis coordinates; the others let the cluster elect the replica after
     * its node timeout), and returns once every node reports {@code cluster_state:ok}, sees the
     * replica as master, and the former master replicates it. The roles in {@link #masters()} and
     * {@link #replicas()} are swapped accordingly.
     *
     * @return the new master
     * @throws IllegalStateException if the cluster does not recover in time
     */
    RedisServer failOverMasterOf(String key, PrimaryFault fault);

    /** How the nodes run: {@code "redis-server"} or {@code "embedded-redis"}. */
    String kind();

    /** Stops all nodes and deletes their temp directories. Idempotent. */
    @Override
    void close();
}
