package io.statefulroute.core.rebalance;

/**
 * The application's say on each move the {@link Rebalancer} proposes: nothing moves without
 * it. A lobby consents for a player between matches, an editor for a document nobody is
 * typing in; a user the application is in the middle of something with gets a no, and is asked
 * again in a later round if this pod is still above the mean.
 *
 * <p>All three methods run on the rebalancer's thread, one call at a time: answer quickly and
 * hand heavy work off. After a yes, the pod hands the user off at once: from the moment the
 * hand-off begins this pod no longer owns the user ({@code owns(uid)} is false), and
 * {@link #moved} or {@link #notMoved} follows. Between the yes and that answer, write nothing
 * for the user: a {@code trySetLinkedPod} is refused once the user moved, and a
 * {@code setLinkedPod} would take the user back from its new pod.
 */
@FunctionalInterface
public interface MoveConsent {

    /**
     * No application consents: the rebalancer proposes and reports moves, asks nobody and
     * moves nobody.
     */
    MoveConsent NONE = (uid, targetPod) -> false;

    /**
     * Whether the user may move to the pod now. The user is one this pod owns.
     * @param uid the user
     * @param targetPod the pod it would move to
     * @return true to move it now; false to keep it here (it may be asked again in a later round)
     */
    boolean mayMove(String uid, int targetPod);

    /**
     * The user's link moved to the target pod: this pod no longer owns it. Drop its state here,
     * or hand it to the new pod, which takes the user when the user arrives there (gateways
     * dropped their cached link when it moved). Never write it back over the new pod's.
     */
    default void moved(String uid, int targetPod) {
    }

    /**
     * The consented move did not happen: the hand-off was refused or failed (the pod's lease,
     * Redis), or the user was no longer linked here. If this pod still holds the user
     * ({@code heldUsers()} contains it), it stays here as before, owned again as soon as
     * {@code owns(uid)} says so; should a hand-off whose answer was lost have moved it after all,
     * the ownership listener reports it lost. If the pod no longer holds it, the user had left
     * this pod already: treat it as gone.
     */
    default void notMoved(String uid, int targetPod) {
    }
}
