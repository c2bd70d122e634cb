package io.statefulroute.core.redis;

/**
 * The fence a pod's write carries: the time on Redis' clock (epoch millis) from which the write
 * must not land. The script that performs the write checks it against the clock of the server
 * that holds the key before it writes anything, and refuses a write that arrives at or after
 * it with {@link io.statefulroute.core.FencedWriteException}. A pod sets it to its lease's end
 * or its caller's deadline, whichever comes first; a gateway's relink sets it to the moment
 * its view of the pod states stops being fresh enough to move a user on.
 *
 * @param deadlineMillis Redis' clock (epoch millis) from which the write is refused
 */
public record WriteFence(long deadlineMillis) {

    /** The script argument: the deadline in millis. */
    String argument() {
        return Long.toString(this.deadlineMillis);
    }
}
