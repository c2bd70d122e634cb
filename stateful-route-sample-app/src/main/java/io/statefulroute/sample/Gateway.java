package io.statefulroute.sample;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.statefulroute.autoconfigure.StatefulRouteProperties;
import io.statefulroute.core.link.StatefulRouteForClientDriver;

import org.springframework.stereotype.Component;

/**
 * The gateway: finds the pod that holds a player ({@link StatefulRouteForClientDriver#computeLinkedPod},
 * which links a new player to the best routable pod) and forwards the player there. Forwarding
 * is a method call when the pod runs in this process; a real gateway would proxy the request.
 */
@Component
class Gateway {

    /** Players remembered for the page's link counts; beyond this many, new ones are not counted. */
    private static final int MAX_REMEMBERED = 10_000;

    private final StatefulRouteForClientDriver client;

    private final LobbyPods pods;

    private final RouteLog routeLog;

    private final String namespace;

    private final String lobbyService;

    /** Players routed by this gateway and not gone yet, with the pod they were last forwarded to. */
    private final Map<String, Integer> players = new ConcurrentHashMap<>();

    Gateway(StatefulRouteForClientDriver client, LobbyPods pods, RouteLog routeLog, StatefulRouteProperties properties) {
        this.client = client;
        this.pods = pods;
        this.routeLog = routeLog;
        this.namespace = properties.getNamespace();
        this.lobbyService = properties.getServer().getService();
    }

    /** The pod holding the player for the service, linking a new player to the best routable pod. */
    int route(String service, String uid) {
        int pod = this.client.computeLinkedPod(this.namespace, uid, service);
        this.routeLog.routed(pod);
        if (service.equals(this.lobbyService)) {
            forward(uid, pod);
        }
        return pod;
    }

    private void forward(String uid, int podIndex) {
        this.pods.find(podIndex).filter((pod) -> !pod.holds(uid)).ifPresent((pod) -> pod.join(uid));
        if (this.players.size() < MAX_REMEMBERED || this.players.containsKey(uid)) {
            this.players.put(uid, podIndex);
        }
    }

    /** The player quits: the pod holding the player (if in this process) drops the link. */
    void leave(String uid) {
        Integer podIndex = this.players.remove(uid);
        if (podIndex != null) {
            this.pods.find(podIndex).ifPresent((pod) -> pod.leave(uid));
        }
    }

    /** Players this gateway routed to the lobby service and who have not left. */
    Set<String> players() {
        return this.players.keySet();
    }

    String namespace() {
        return this.namespace;
    }

    String lobbyService() {
        return this.lobbyService;
    }

    StatefulRouteForClientDriver client() {
        return this.client;
    }

}
