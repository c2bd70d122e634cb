package io.statefulroute.cloud.it;

import java.util.Map;

import io.statefulroute.core.server.StatefulRouteForServerDriver;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.web.reactive.HandlerMapping;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.reactive.handler.SimpleUrlHandlerMapping;
import org.springframework.web.reactive.socket.WebSocketHandler;

/**
 * A pod of the {@code lobby} service: a real web server that answers every request and
 * every WebSocket message with its pod index, so a test sees where each user landed.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class LobbyPodApplication {

    @Bean
    RouterFunction<ServerResponse> lobby(StatefulRouteForServerDriver pod) {
        String name = "pod-" + pod.identity().podIndex();
        return RouterFunctions.route()
            .GET("/lobby/{uid}/hello", (request) -> ServerResponse.ok().bodyValue(name))
            .build();
    }

    @Bean
    HandlerMapping lobbyWebSocket(StatefulRouteForServerDriver pod) {
        String name = "pod-" + pod.identity().podIndex();
        WebSocketHandler echo = (session) -> session.send(session.receive()
            .map((message) -> session.textMessage(name + ":" + message.getPayloadAsText())));
        return new SimpleUrlHandlerMapping(Map.of("/lobby/*/ws", echo), -1);
    }

}
