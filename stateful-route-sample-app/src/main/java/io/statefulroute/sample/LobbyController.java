package io.statefulroute.sample;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import io.statefulroute.core.FencedWriteException;
import io.statefulroute.core.ForeignNamespaceException;
import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.UserTakenException;
import io.statefulroute.core.link.RouteOutcome;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.core.server.HandoffReport;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * The HTTP API: the gateway's routes ({@code /route/...}, {@code /users/...}), the pods of
 * this process ({@code /api/pods/...}) and the live page's data ({@code /api/dashboard}).
 */
@RestController
class LobbyController {

    private final Gateway gateway;

    private final LobbyPods pods;

    private final RouteLog routeLog;

    private final ObjectProvider<LobbyChat> chat;

    /** Guests are named per process, so two gateways adding guests never share one. */
    private final String guestPrefix = "guest-" + Long.toString(ThreadLocalRandom.current().nextLong(36 * 36 * 36), 36) + "-";

    private final AtomicLong nextGuest = new AtomicLong();

    LobbyController(Gateway gateway, LobbyPods pods, RouteLog routeLog, ObjectProvider<LobbyChat> chat) {
        this.gateway = gateway;
        this.pods = pods;
        this.routeLog = routeLog;
        this.chat = chat;
    }

    // ---- gateway

    /** The pod holding the user for the service, linking a new user to the best routable pod. */
    @GetMapping("/route/{service}/{uid}")
    Route route(@PathVariable String service, @PathVariable String uid) {
        return new Route(service, uid, this.gateway.route(service, uid));
    }

    /** Pod to users, for the users already linked (creates no link). */
    @GetMapping("/route/{service}")
    Map<Integer, List<String>> routes(@PathVariable String service, @RequestParam List<String> uid) {
        return this.gateway.client().batchGetLinkedPod(this.gateway.namespace(), uid, service);
    }

    /** Every service the user is linked to, with its pod. */
    @GetMapping("/users/{uid}/routes")
    Map<String, Integer> servicesOf(@PathVariable String uid) {
        return this.gateway.client().getLinkService(this.gateway.namespace(), uid);
    }

    /** New guests of the lobby service, each routed and forwarded to its pod. */
    @PostMapping("/api/players")
    List<Route> addPlayers(@RequestParam(defaultValue = "10") int count) {
        List<Route> routes = new ArrayList<>();
        for (int i = 0; i < Math.min(count, 1000); i++) {
            routes.add(route(this.gateway.lobbyService(), this.guestPrefix + this.nextGuest.incrementAndGet()));
        }
        return routes;
    }

    // ---- pods of this process

    /**
     * The player reached this pod (e.g. forwarded by a gateway in another process): the pod
     * holds the player now, unless another pod does ({@code 409}).
     */
    @PostMapping("/api/pods/{index}/players/{uid}")
    void join(@PathVariable int index, @PathVariable String uid) {
        joined(uid, pod(index).join(uid));
    }

    /** The pod takes the player from whichever pod holds it: a deliberate steal, which that pod learns of. */
    @PostMapping("/api/pods/{index}/players/{uid}/take")
    void take(@PathVariable int index, @PathVariable String uid) {
        pod(index).take(uid);
    }

    /**
     * The pod hands every player over to the other routable pods (drain it first); the chat
     * closes their sockets here, and the gateway sends their clients to the new pods.
     */
    @PostMapping("/api/pods/{index}/handoff")
    HandoffReport handOff(@PathVariable int index) {
        HandoffReport report = pod(index).handOffAll(this.gateway.client().routeInfo());
        this.chat.ifAvailable(LobbyChat::closeUnserved);
        return report;
    }

    private static void joined(String uid, TrySetResult joined) {
        if (!joined.success()) {
            throw new PlayerElsewhereException("Player " + uid + " is held by pod " + joined.podIndex());
        }
    }

    /**
     * A player's request as a gateway in front of the pods forwards it ({@code lb://lobby}):
     * this process is one pod, which now holds the player (unless another pod does: {@code 409})
     * and says which pod answered. Demo mode's simulated pods have no address of their own, so
     * it has no such entry.
     */
    @GetMapping("/lobby/{uid}")
    Arrival arrive(@PathVariable String uid) {
        if (this.pods.isSimulated()) {
            throw new ResponseStatusException(HttpStatus.NOT_FOUND,
                    "This process runs simulated pods; start it as one pod with --stateful-route.server.enabled=true");
        }
        LobbyPod pod = this.pods.all().iterator().next();
        joined(uid, pod.join(uid));
        return new Arrival(uid, pod.index(), pod.players());
    }

    /** A player's arrival at the pod that answered, with the number of players it holds. */
    record Arrival(String uid, int pod, int players) {
    }

    @DeleteMapping("/api/pods/{index}/players/{uid}")
    void leave(@PathVariable int index, @PathVariable String uid) {
        pod(index).leave(uid);
    }

    /** {@code drain}, {@code undrain}, and for simulated pods {@code kill}, {@code restart}, {@code freeze}, {@code thaw}. */
    @PostMapping("/api/pods/{index}/{action}")
    void act(@PathVariable int index, @PathVariable String action) {
        LobbyPod pod = pod(index);
        switch (action) {
            case "drain" -> pod.drain();
            case "undrain" -> pod.undrain();
            case "kill" -> pod.kill();
            case "restart" -> pod.restart();
            case "freeze" -> pod.freeze();
            case "thaw" -> pod.thaw();
            default -> throw new ResponseStatusException(HttpStatus.NOT_FOUND, "No action " + action);
        }
    }

    private LobbyPod pod(int index) {
        return this.pods.find(index)
            .orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "Pod " + index + " is not in this process"));
    }

    // ---- live page

    /** Every known service with its pods as gateways see them, and the recent routing decisions. */
    @GetMapping("/api/dashboard")
    Dashboard dashboard() {
        ServiceStateCache states = this.gateway.client().routeInfo().states();
        String namespace = this.gateway.namespace();
        states.view(namespace, this.gateway.lobbyService());
        List<ServiceInfo> services = states.views()
            .stream()
            .filter((view) -> view.namespace().equals(namespace))
            .sorted(Comparator.comparing(ServiceView::service))
            .map(this::serviceInfo)
            .toList();
        return new Dashboard(namespace, services, this.gateway.players().size(), this.routeLog.counts(),
                this.routeLog.recent());
    }

    private ServiceInfo serviceInfo(ServiceView view) {
        Map<Integer, List<String>> links = this.gateway.players().isEmpty() ? Map.of()
                : this.gateway.client().batchGetLinkedPod(view.namespace(), this.gateway.players(), view.service());
        long now = view.serverNowMillis();
        List<PodInfo> pods = view.pods().stream().map((state) -> {
            int index = state.podIndex();
            LobbyPod local = view.service().equals(this.gateway.lobbyService()) ? this.pods.find(index).orElse(null) : null;
            return new PodInfo(index, state.address(), state.routingState().name(), state.loadScore(),
                    view.isAlive(index), view.isRoutable(index), now - state.updateTimeMillis(),
                    links.getOrDefault(index, List.of()).size(), local != null, local != null && local.isSimulated(),
                    local != null && local.isDead(), (local != null) ? local.players() : 0,
                    local != null && local.isFrozen(), local != null && local.leaseLive(),
                    (local != null) ? local.lostPlayers() : 0);
        }).toList();
        return new ServiceInfo(view.service(), pods);
    }

    // ---- errors

    /** No pod takes the player, or this pod may not now (its lease lapsed, its write was decided too late). */
    @ExceptionHandler({ NoRoutablePodException.class, FencedWriteException.class })
    ProblemDetail noRoutablePod(StatefulRouteException ex) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE, ex.getMessage());
    }

    /** Another pod holds the player, or was given it while this one was taking it. */
    @ExceptionHandler({ PlayerElsewhereException.class, UserTakenException.class })
    ProblemDetail playerElsewhere(RuntimeException ex) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, ex.getMessage());
    }

    /** The player arrived at a pod while another pod holds it: this one takes nobody back. */
    static final class PlayerElsewhereException extends RuntimeException {

        PlayerElsewhereException(String message) {
            super(message);
        }

    }

    @ExceptionHandler(RedisUnavailableException.class)
    ProblemDetail redisUnavailable(RedisUnavailableException ex) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE, ex.getMessage());
    }

    @ExceptionHandler({ InvalidRouteArgumentException.class, ForeignNamespaceException.class })
    ProblemDetail badRequest(StatefulRouteException ex) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, ex.getMessage());
    }

    @ExceptionHandler(UnsupportedOperationException.class)
    ProblemDetail unsupported(UnsupportedOperationException ex) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, ex.getMessage());
    }

    /** A routing answer. */
    record Route(String service, String uid, int pod) {
    }

    /** What the live page shows. */
    record Dashboard(String namespace, List<ServiceInfo> services, int players, Map<RouteOutcome, Long> outcomes,
            List<RouteLog.Decision> decisions) {
    }

    record ServiceInfo(String service, List<PodInfo> pods) {
    }

    /**
     * One pod: as published in Redis, plus what this process knows when the pod runs here.
     * @param address where the pod's heartbeat says it serves its players (what a gateway in
     * front of the pods connects to), null when it advertises none, as demo mode's simulated pods
     * @param links players this gateway routed that are linked to the pod
     * @param players players the pod holds, when it runs in this process
     * @param frozen whether the simulated pod is frozen (no heartbeats, players kept in memory)
     * @param leaseLive whether the pod in this process owns its players now
     * @param lostPlayers players the pod in this process found moved elsewhere and dropped
     */
    record PodInfo(int index, PodAddress address, String routingState, double loadScore, boolean alive,
            boolean routable, long heartbeatAgeMillis, int links, boolean local, boolean simulated, boolean dead,
            int players, boolean frozen, boolean leaseLive, int lostPlayers) {
    }

}
