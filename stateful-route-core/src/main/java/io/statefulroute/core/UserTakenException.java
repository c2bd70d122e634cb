package io.statefulroute.core;

/**
 * Redis refused a pod's write because another pod was given the user after the write was
 * decided (a hand-off, a relink, another pod's take landed first): the writer acted on what it
 * knew, which is no longer so. Nothing was written; the user is another pod's now. A pod that
 * held the user learns it lost it (it is reported like any other loss).
 */
public class UserTakenException extends FencedWriteException {

    private final int podIndex;

    public UserTakenException(String message, int podIndex, long givenAtMillis, long decidedAtMillis) {
        super(message, givenAtMillis, decidedAtMillis);
        this.podIndex = podIndex;
    }

    /** The pod that was given the user. */
    public int podIndex() {
        return this.podIndex;
    }
}
