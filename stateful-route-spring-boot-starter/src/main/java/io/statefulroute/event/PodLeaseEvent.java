package io.statefulroute.event;

import java.time.Duration;

import io.statefulroute.core.PodIdentity;

import org.springframework.context.ApplicationEvent;

/**
 * This pod's lease lapsed (it owns none of its users and takes no new ones) or was renewed by
 * a heartbeat after a lapse (it takes new users again; its earlier users are confirmed or
 * reported in a {@link UsersLostEvent} once the relink grace has passed). Published on the pod
 * driver's lease thread: hand heavy work off.
 */
public class PodLeaseEvent extends ApplicationEvent {

    private final PodIdentity pod;

    private final boolean live;

    private final Duration sinceLastHeartbeat;

    public PodLeaseEvent(Object source, PodIdentity pod, boolean live, Duration sinceLastHeartbeat) {
        super(source);
        this.pod = pod;
        this.live = live;
        this.sinceLastHeartbeat = sinceLastHeartbeat;
    }

    /** This pod. */
    public PodIdentity getPod() {
        return this.pod;
    }

    /** Whether the lease is live again (renewed) rather than lapsed. */
    public boolean isLive() {
        return this.live;
    }

    /** For a lapse, time since the last heartbeat that reached Redis was sent; zero for a renewal. */
    public Duration getSinceLastHeartbeat() {
        return this.sinceLastHeartbeat;
    }

    @Override
    public String toString() {
        return "PodLeaseEvent[" + this.pod + (this.live ? " renewed" : " lapsed after " + this.sinceLastHeartbeat) + "]";
    }
}
