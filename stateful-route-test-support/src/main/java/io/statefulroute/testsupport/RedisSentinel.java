package io.statefulroute.testsupport;

import java.util.List;

/**
 * A Redis master with one replica, watched by three Redis Sentinels (quorum 2), all on
 * 127.0.0.1: every Sentinel knows the master, its replica and the two other Sentinels, and the
 * replica's link to its master is up.
 */
public interface RedisSentinel extends AutoCloseable {

    /** The name the Sentinels monitor the master under, for {@code spring.data.redis.sentinel.master}. */
    String masterName();

    /** The current master; after {@link #failOver()} the promoted replica. */
    RedisServer master();

    /** The current replica; after {@link #failOver()} the former master. */
    RedisServer replica();

    /** The three Sentinels. */
    List<RedisServer> sentinels();

    /** {@code "127.0.0.1:PORT"} of every Sentinel joined with commas, for {@code spring.data.redis.sentinel.nodes}. */
    String sentinelNodesProperty();

    /**
     * Waits until the replica has every write of the master (so no write made before is lost),
     * sends {@code SENTINEL FAILOVER} to one Sentinel, and returns once every Sentinel names the
     * replica as master, the replica reports role master and the former master replicates it
     * with its link up. The roles of {@link #master()} and {@link #replica()} are swapped.
     *
     * @return the new master
     * @throws IllegalStateException if the failover does not complete in time
     */
    RedisServer failOver();

    /**
     * Fails the master over to the replica the way {@code fault} says, without waiting for the
     * replica to catch up (writes within the replication lag may be lost), and returns once every
     * Sentinel names the replica as master, it reports role master, and the former master
     * replicates it with its link up. The roles of {@link #master()} and {@link #replica()} are
     * swapped.
     *
     * @return the new master
     * @throws IllegalStateException if the failover does not complete in time
     */
    RedisServer failOver(PrimaryFault fault);

    /** How the processes run: {@code "redis-server"} or {@code "embedded-redis"}. */
    String kind();

    /** Stops every process and deletes their temp directories. Idempotent. */
    @Override
    void close();
}
