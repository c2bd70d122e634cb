package io.statefulroute.core;

/**
 * A write that asked for replicas' acknowledgement ({@code stateful-route.link.replica-acks})
 * was applied on the primary, but fewer replicas than asked for confirmed it within the
 * acknowledgement timeout: a failover before it reaches a replica would lose it. The write is in
 * place; calling again is safe (it is idempotent and waits for the replicas anew). A pod that
 * took a user with it holds the user (the pod restores the link itself if a failover loses it);
 * if the application gives up on the user, it releases it with {@code removeLinkedPod}.
 * {@code min-replicas-to-write} on the primary refuses writes outright instead while too few
 * replicas are connected.
 */
public class ReplicaAcknowledgementException extends StatefulRouteException {

    private final long confirmed;

    private final int asked;

    public ReplicaAcknowledgementException(long confirmed, int asked, long timeoutMillis) {
        super("The write was applied on the primary but " + confirmed + " of the " + asked
                + " replicas asked for confirmed it within " + timeoutMillis + " ms: a failover now could lose it");
        this.confirmed = confirmed;
        this.asked = asked;
    }

    /** How many replicas confirmed the write in time. */
    public long confirmed() {
        return this.confirmed;
    }

    /** How many replicas were asked to confirm it. */
    public int asked() {
        return this.asked;
    }
}
