package io.statefulroute.event;

import io.statefulroute.core.state.PodStateChange;
import io.statefulroute.core.state.PodStateListener;

import org.springframework.context.ApplicationEventPublisher;

/**
 * Republishes the state cache's pod changes as {@link PodStateChangedEvent}s, so that
 * applications use Spring's {@code @EventListener} rather than core's listener interface.
 */
public class PodStateEventPublisher implements PodStateListener {

    private final ApplicationEventPublisher publisher;

    public PodStateEventPublisher(ApplicationEventPublisher publisher) {
        this.publisher = publisher;
    }

    @Override
    public void podStateChanged(PodStateChange change) {
        this.publisher.publishEvent(new PodStateChangedEvent(this, change));
    }
}
