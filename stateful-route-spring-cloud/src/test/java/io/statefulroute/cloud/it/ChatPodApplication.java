package io.statefulroute.cloud.it;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.web.reactive.HandlerMapping;
import org.springframework.web.reactive.handler.SimpleUrlHandlerMapping;
import org.springframework.web.reactive.socket.CloseStatus;
import org.springframework.web.reactive.socket.WebSocketHandler;
import org.springframework.web.reactive.socket.WebSocketSession;

/**
 * A pod of the {@code lobby} service with a chat at {@code /lobby/{uid}/ws}, as a stateful pod
 * would run one: a connecting user is taken only if no other pod holds the user
 * ({@code trySetLinkedPod}, persistent), else the session is closed; every message is echoed
 * as {@code pod-N:text} and recorded in the {@link ChatLog} with when it arrived.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class ChatPodApplication {

    @Bean
    ChatLog chatLog() {
        return new ChatLog();
    }

    @Bean
    HandlerMapping chat(StatefulRouteForServerDriver pod, ChatLog log) {
        String name = "pod-" + pod.identity().podIndex();
        WebSocketHandler chat = (session) -> {
            String uid = session.getHandshakeInfo().getUri().getPath().split("/")[2];
            return Mono.fromCallable(() -> pod.trySetLinkedPod(uid, RouteArguments.PERSIST_FOREVER))
                .subscribeOn(Schedulers.boundedElastic())
                .flatMap((TrySetResult taken) -> taken.success() ? serve(session, uid, name, log)
                        : session.close(new CloseStatus(1001, "on pod " + taken.podIndex())));
        };
        return new SimpleUrlHandlerMapping(Map.of("/lobby/*/ws", chat), -1);
    }

    private static Mono<Void> serve(WebSocketSession session, String uid, String name, ChatLog log) {
        log.opened(uid);
        return session.send(session.receive().map((message) -> {
            String text = message.getPayloadAsText();
            log.received(uid, text);
            return session.textMessage(name + ":" + text);
        })).doFinally((signal) -> log.closed(uid));
    }

    /** What one pod's chat received, per user. */
    public static final class ChatLog {

        private final Map<String, List<Arrival>> received = new ConcurrentHashMap<>();

        private final Map<String, AtomicInteger> open = new ConcurrentHashMap<>();

        void opened(String uid) {
            this.open.computeIfAbsent(uid, (key) -> new AtomicInteger()).incrementAndGet();
        }

        void closed(String uid) {
            this.open.get(uid).decrementAndGet();
        }

        void received(String uid, String text) {
            this.received.computeIfAbsent(uid, (key) -> new CopyOnWriteArrayList<>())
                .add(new Arrival(text, System.nanoTime()));
        }

        /** The user's messages this pod received, in order. */
        public List<Arrival> received(String uid) {
            return this.received.getOrDefault(uid, List.of());
        }

        /** The user's sessions open on this pod now. */
        public int openSessions(String uid) {
            AtomicInteger count = this.open.get(uid);
            return (count != null) ? count.get() : 0;
        }

    }

    /** A message's text and {@link System#nanoTime()} when the pod received it. */
    public record Arrival(String text, long atNanos) {
    }

}
