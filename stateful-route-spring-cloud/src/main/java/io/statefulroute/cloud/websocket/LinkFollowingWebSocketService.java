package io.statefulroute.cloud.websocket;

import java.util.List;
import java.util.function.Supplier;

import io.statefulroute.cloud.loadbalancer.PodChoice;
import io.statefulroute.core.RouteArguments;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

import org.springframework.context.Lifecycle;
import org.springframework.web.reactive.socket.WebSocketHandler;
import org.springframework.web.reactive.socket.WebSocketSession;
import org.springframework.web.reactive.socket.server.WebSocketService;
import org.springframework.web.server.ServerWebExchange;

/**
 * A {@link WebSocketService} whose sessions follow their user's link. Spring Cloud Gateway's
 * {@code WebsocketRoutingFilter} upgrades every {@code lb:ws://} request through the
 * application's {@code WebSocketService} with a handler that proxies the session to the chosen
 * instance; when stateful-route's balancer chose that instance for a user (a {@link PodChoice}
 * in the exchange), the client's session is {@linkplain FollowedSessions#follow followed} for
 * as long as the handler runs. Any other upgrade goes to the delegate as it came.
 */
public final class LinkFollowingWebSocketService implements WebSocketService, Lifecycle {

    /**
     * Exchange attribute in which Spring Cloud Gateway's {@code ReactiveLoadBalancerClientFilter}
     * keeps the balancer's response.
     */
    static final String GATEWAY_LOADBALANCER_RESPONSE_ATTRIBUTE =
            "org.springframework.cloud.gateway.support.ServerWebExchangeUtils.gatewayLoadBalancerResponse";

    private final WebSocketService delegate;

    private final Supplier<FollowedSessions> sessions;

    private volatile boolean running;

    /**
     * @param delegate the service that upgrades the request
     * @param sessions the registry, or a supplier of null while there is none
     */
    public LinkFollowingWebSocketService(WebSocketService delegate, Supplier<FollowedSessions> sessions) {
        this.delegate = RouteArguments.requireNonNull("delegate", delegate);
        this.sessions = RouteArguments.requireNonNull("sessions", sessions);
    }

    @Override
    public Mono<Void> handleRequest(ServerWebExchange exchange, WebSocketHandler handler) {
        if (exchange.getAttribute(GATEWAY_LOADBALANCER_RESPONSE_ATTRIBUTE) instanceof PodChoice choice
                && choice.uid() != null) {
            FollowedSessions followed = this.sessions.get();
            if (followed != null) {
                return this.delegate.handleRequest(exchange, new Following(handler, choice, followed));
            }
        }
        return this.delegate.handleRequest(exchange, handler);
    }

    /** The service this one decorates. */
    public WebSocketService delegate() {
        return this.delegate;
    }

    // Spring's HandshakeWebSocketService is a Lifecycle (it starts its upgrade strategy): the
    // context now sees this bean in its place

    @Override
    public void start() {
        if (this.delegate instanceof Lifecycle lifecycle) {
            lifecycle.start();
        }
        this.running = true;
    }

    @Override
    public void stop() {
        if (this.delegate instanceof Lifecycle lifecycle) {
            lifecycle.stop();
        }
        this.running = false;
    }

    @Override
    public boolean isRunning() {
        return (this.delegate instanceof Lifecycle lifecycle) ? lifecycle.isRunning() : this.running;
    }

    /** Follows the client's session while the proxying handler runs: until both sides closed. */
    private record Following(WebSocketHandler handler, PodChoice choice, FollowedSessions sessions)
            implements WebSocketHandler {

        @Override
        public List<String> getSubProtocols() {
            return this.handler.getSubProtocols();
        }

        @Override
        public Mono<Void> handle(WebSocketSession session) {
            Disposable followed = this.sessions.follow(this.choice, session);
            return this.handler.handle(session).doFinally((signal) -> followed.dispose());
        }

    }

}
