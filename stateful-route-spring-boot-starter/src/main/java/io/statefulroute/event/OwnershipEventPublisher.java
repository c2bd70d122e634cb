package io.statefulroute.event;

import java.time.Duration;
import java.util.Set;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.server.LossReason;
import io.statefulroute.core.server.OwnershipListener;

import org.springframework.context.ApplicationEventPublisher;

/**
 * Republishes the pod driver's lease lapses, renewals and lost users as
 * {@link PodLeaseEvent}s and {@link UsersLostEvent}s, for {@code @EventListener} methods.
 */
public class OwnershipEventPublisher implements OwnershipListener {

    private final ApplicationEventPublisher publisher;

    public OwnershipEventPublisher(ApplicationEventPublisher publisher) {
        this.publisher = publisher;
    }

    @Override
    public void leaseLapsed(PodIdentity pod, Duration sinceLastSuccess) {
        this.publisher.publishEvent(new PodLeaseEvent(this, pod, false, sinceLastSuccess));
    }

    @Override
    public void leaseRenewed(PodIdentity pod) {
        this.publisher.publishEvent(new PodLeaseEvent(this, pod, true, Duration.ZERO));
    }

    @Override
    public void usersLost(PodIdentity pod, Set<String> uids, LossReason reason) {
        this.publisher.publishEvent(new UsersLostEvent(this, pod, uids, reason));
    }
}
