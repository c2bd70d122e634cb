package io.statefulroute.testsupport;

/**
 * How a primary stops being one in a failover a test provokes. None waits for the replica to
 * catch up first: writes the primary took within the replication lag may be lost, as in
 * production.
 */
public enum PrimaryFault {

    /**
     * A failover asked for while the primary runs ({@code SENTINEL FAILOVER}, or
     * {@code CLUSTER FAILOVER} on the replica, which Redis coordinates so that nothing is lost):
     * the old primary becomes a replica of the new one.
     */
    PLANNED,

    /** The primary is killed ({@code SIGKILL}), the replica promoted, then the old one restarted empty as a replica. */
    KILLED,

    /**
     * The primary is frozen ({@code SIGSTOP}) until the replica is promoted, then thawed: it
     * answers what waited for it, as a primary, once more, until it learns it was demoted.
     */
    FROZEN
}
