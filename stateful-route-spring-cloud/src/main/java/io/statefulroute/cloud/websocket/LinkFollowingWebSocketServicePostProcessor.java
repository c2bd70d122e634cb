package io.statefulroute.cloud.websocket;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.util.function.SingletonSupplier;
import org.springframework.web.reactive.socket.server.WebSocketService;

/**
 * Decorates every {@link WebSocketService} bean with a {@link LinkFollowingWebSocketService}.
 * Spring Cloud Gateway defines its {@code WebSocketService} without backing off for one of the
 * application's, so decorating it is how its proxied sessions are reached. A service whose
 * upgrades carry no stateful-route choice is unaffected.
 */
public final class LinkFollowingWebSocketServicePostProcessor implements BeanPostProcessor {

    private final ObjectProvider<FollowedSessions> sessions;

    /**
     * @param sessions looked up on the first proxied session: a post-processor is made before
     * the beans the registry needs
     */
    public LinkFollowingWebSocketServicePostProcessor(ObjectProvider<FollowedSessions> sessions) {
        this.sessions = sessions;
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (bean instanceof WebSocketService service && !(bean instanceof LinkFollowingWebSocketService)) {
            return new LinkFollowingWebSocketService(service, SingletonSupplier.of(this.sessions::getIfAvailable));
        }
        return bean;
    }

}
