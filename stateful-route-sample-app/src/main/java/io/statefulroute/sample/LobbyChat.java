package io.statefulroute.sample;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.event.PodLeaseEvent;
import io.statefulroute.event.UsersLostEvent;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;
import org.springframework.web.socket.CloseStatus;
import org.springframework.web.socket.TextMessage;
import org.springframework.web.socket.WebSocketSession;
import org.springframework.web.socket.config.annotation.EnableWebSocket;
import org.springframework.web.socket.config.annotation.WebSocketConfigurer;
import org.springframework.web.socket.config.annotation.WebSocketHandlerRegistry;
import org.springframework.web.socket.handler.ConcurrentWebSocketSessionDecorator;
import org.springframework.web.socket.handler.TextWebSocketHandler;

/**
 * The lobby chat of a pod process, at {@code /lobby/{uid}/ws} (a gateway routes it with
 * {@code lb:ws://lobby}): the player joins this pod, and every message goes to the players
 * chatting on this pod, prefixed with the pod that relayed it, so a session that reached
 * another pod than the player's requests would show. Only when this process is one pod
 * ({@code stateful-route.server.enabled=true}); demo mode's simulated pods have no socket.
 *
 * <p>The chat serves a player only while its pod does: a player another pod holds is refused
 * at the door (the pod asks Redis, {@link LobbyPod#join}), and the socket of a player the pod
 * lost ({@link UsersLostEvent}), handed over, or can no longer serve (its lease lapsed) is
 * closed with {@code 1001 Going Away}, so the client reconnects through the gateway to the
 * player's pod. Not {@code 1012}: Spring Cloud Gateway passes a pod's {@code 1001} on to the
 * client but turns its {@code 1012} into {@code 1002}.
 */
@Configuration(proxyBeanMethods = false)
@EnableWebSocket
@ConditionalOnProperty(name = "stateful-route.server.enabled", havingValue = "true")
class LobbyChat extends TextWebSocketHandler implements WebSocketConfigurer {

    private static final CloseStatus MOVED = CloseStatus.GOING_AWAY.withReason("player moved to another pod");

    private static final CloseStatus LEASE_LAPSED = CloseStatus.GOING_AWAY.withReason("pod lost its lease");

    /** A slow player delays nobody: each session sends on its own, within these bounds. */
    private static final int SEND_TIME_LIMIT_MILLIS = 5_000;

    private static final int BUFFER_SIZE_LIMIT = 64 * 1024;

    private final LobbyPods pods;

    private final SampleProperties sample;

    /** Session id -> the player chatting on it. */
    private final Map<String, Player> players = new ConcurrentHashMap<>();

    LobbyChat(LobbyPods pods, SampleProperties sample) {
        this.pods = pods;
        this.sample = sample;
    }

    @Override
    public void registerWebSocketHandlers(WebSocketHandlerRegistry registry) {
        // a page served elsewhere (the gateway's chat page) opens the socket through the gateway
        registry.addHandler(this, "/lobby/*/ws")
            .setAllowedOriginPatterns(this.sample.chatOrigins().toArray(String[]::new));
    }

    @Override
    public void afterConnectionEstablished(WebSocketSession session) throws IOException {
        String uid = uid(session);
        TrySetResult joined;
        try {
            joined = pod().join(uid);
        }
        catch (StatefulRouteException ex) {
            // the lease lapsed, Redis refused the write as decided too late, or does not answer
            session.close(CloseStatus.GOING_AWAY.withReason("pod cannot take players now"));
            return;
        }
        if (!joined.success()) {
            session.close(CloseStatus.GOING_AWAY.withReason("player is on pod " + joined.podIndex()));
            return;
        }
        Player player = new Player(uid,
                new ConcurrentWebSocketSessionDecorator(session, SEND_TIME_LIMIT_MILLIS, BUFFER_SIZE_LIMIT));
        this.players.put(session.getId(), player);
        player.session().sendMessage(new TextMessage(prefix() + "welcome " + uid));
    }

    @Override
    protected void handleTextMessage(WebSocketSession session, TextMessage message) throws IOException {
        Player sender = this.players.get(session.getId());
        if (sender == null) {
            return;
        }
        if (!pod().serves(sender.uid())) {
            close(sender);
            return;
        }
        TextMessage relayed = new TextMessage(prefix() + sender.uid() + ": " + message.getPayload());
        for (Player player : this.players.values()) {
            if (player.session().isOpen()) {
                try {
                    player.session().sendMessage(relayed);
                }
                catch (IOException ex) {
                    // that player's connection broke (it closes and leaves the chat); the others still get it
                }
            }
        }
    }

    @Override
    public void afterConnectionClosed(WebSocketSession session, CloseStatus status) {
        this.players.remove(session.getId());
    }

    /** Players this pod lost (another pod took them, or its lease lapsed meanwhile) chat elsewhere now. */
    @EventListener
    void usersLost(UsersLostEvent event) {
        closeUnserved();
    }

    /** A pod whose lease lapsed owns none of its players. */
    @EventListener
    void leaseChanged(PodLeaseEvent event) {
        if (!event.isLive()) {
            closeUnserved();
        }
    }

    /** Closes the socket of every player this pod does not serve now (lost, handed over, or its lease lapsed). */
    void closeUnserved() {
        for (Player player : this.players.values()) {
            if (!pod().serves(player.uid())) {
                close(player);
            }
        }
    }

    private void close(Player player) {
        try {
            player.session().close(pod().leaseLive() ? MOVED : LEASE_LAPSED);
        }
        catch (IOException ex) {
            // the connection is gone already
        }
    }

    private String prefix() {
        return "pod-" + pod().index() + " ";
    }

    private LobbyPod pod() {
        return this.pods.all().iterator().next();
    }

    /** The uid is the path segment after {@code /lobby/}, as the gateway's resolver reads it. */
    private static String uid(WebSocketSession session) {
        String[] segments = session.getUri().getPath().split("/");
        return segments[2];
    }

    private record Player(String uid, WebSocketSession session) {
    }

}
