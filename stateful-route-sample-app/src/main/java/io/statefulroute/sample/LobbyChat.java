package io.statefulroute.sample;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Configuration;
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
 */
@Configuration(proxyBeanMethods = false)
@EnableWebSocket
@ConditionalOnProperty(name = "stateful-route.server.enabled", havingValue = "true")
class LobbyChat extends TextWebSocketHandler implements WebSocketConfigurer {

    /** A slow player delays nobody: each session sends on its own, within these bounds. */
    private static final int SEND_TIME_LIMIT_MILLIS = 5_000;

    private static final int BUFFER_SIZE_LIMIT = 64 * 1024;

    private final LobbyPods pods;

    private final Map<String, WebSocketSession> sessions = new ConcurrentHashMap<>();

    LobbyChat(LobbyPods pods) {
        this.pods = pods;
    }

    @Override
    public void registerWebSocketHandlers(WebSocketHandlerRegistry registry) {
        registry.addHandler(this, "/lobby/*/ws");
    }

    @Override
    public void afterConnectionEstablished(WebSocketSession session) throws IOException {
        String uid = uid(session);
        LobbyPod pod = pod();
        pod.join(uid);
        this.sessions.put(session.getId(),
                new ConcurrentWebSocketSessionDecorator(session, SEND_TIME_LIMIT_MILLIS, BUFFER_SIZE_LIMIT));
        this.sessions.get(session.getId()).sendMessage(new TextMessage(prefix() + "welcome " + uid));
    }

    @Override
    protected void handleTextMessage(WebSocketSession session, TextMessage message) throws IOException {
        TextMessage relayed = new TextMessage(prefix() + uid(session) + ": " + message.getPayload());
        for (WebSocketSession player : this.sessions.values()) {
            if (player.isOpen()) {
                try {
                    player.sendMessage(relayed);
                }
                catch (IOException ex) {
                    // that player's connection broke (it closes and leaves the chat); the others still get it
                }
            }
        }
    }

    @Override
    public void afterConnectionClosed(WebSocketSession session, CloseStatus status) {
        this.sessions.remove(session.getId());
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

}
