package io.statefulroute.core.redis;

/**
 * The fence a write about a user's ownership carries (a pod's write, a gateway's relink). The
 * script that performs it checks it on the clock of the server that holds the key, before it
 * writes anything:
 * <ul>
 * <li>from {@code deadlineMillis} on, the write is refused
 * ({@link io.statefulroute.core.FencedWriteException}): a pod sets it to its lease's end or its
 * caller's deadline, whichever comes first; a gateway's relink to the moment its view of the pod
 * states stops being fresh enough to move a user on;
 * <li>a write that would take the user from another pod that was given it after
 * {@code decidedAtMillis} (by the millisecond) is refused
 * ({@link io.statefulroute.core.UserTakenException}): the writer decided without knowing. Such a
 * write stamps the link with when it was written, which is what a later-decided write compares
 * against.
 * </ul>
 *
 * @param deadlineMillis Redis' clock (epoch millis) from which the write is refused
 * @param decidedAtMillis the latest Redis' clock (epoch millis) could have read when the write
 * was decided, as the writer bounds it; 0 when it takes the user whoever was given it
 */
public record WriteFence(long deadlineMillis, long decidedAtMillis) {

    /** A fence with a deadline only. */
    public WriteFence(long deadlineMillis) {
        this(deadlineMillis, 0);
    }

    /** The script argument: {@code "<deadline>,<decided>"}. */
    String argument() {
        return this.deadlineMillis + "," + this.decidedAtMillis;
    }
}
