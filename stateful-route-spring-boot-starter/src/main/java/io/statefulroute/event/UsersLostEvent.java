package io.statefulroute.event;

import java.util.Set;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.server.LossReason;

import org.springframework.context.ApplicationEvent;

/**
 * Users this pod held are no longer linked to it in Redis: its lease lapsed and gateways moved
 * them, or another writer moved, shortened or removed their links. Each lost user is in exactly
 * one event. The application must stop serving these users from its local state at once: drop
 * the state, or hand what it has to the users' new pod, and never write it back over what the
 * new pod has. Published on the pod driver's lease thread: hand heavy work off.
 */
public class UsersLostEvent extends ApplicationEvent {

    private final PodIdentity pod;

    private final Set<String> uids;

    private final LossReason reason;

    public UsersLostEvent(Object source, PodIdentity pod, Set<String> uids, LossReason reason) {
        super(source);
        this.pod = pod;
        this.uids = Set.copyOf(uids);
        this.reason = reason;
    }

    /** This pod. */
    public PodIdentity getPod() {
        return this.pod;
    }

    /** The users lost, each reported in no other event. */
    public Set<String> getUids() {
        return this.uids;
    }

    /** Why the pod found out. */
    public LossReason getReason() {
        return this.reason;
    }

    @Override
    public String toString() {
        return "UsersLostEvent[" + this.pod + " lost " + this.uids.size() + " users, " + this.reason + "]";
    }
}
