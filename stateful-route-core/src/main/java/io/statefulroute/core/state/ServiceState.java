package io.statefulroute.core.state;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every pod state of one service as read from Redis in one atomic step.
 *
 * @param namespace the namespace
 * @param service the service
 * @param readTimeMillis Redis' clock when the states were read, to judge their age
 * @param pods the pods' states, ordered by pod index
 * @param unreadablePods pods whose entry this version cannot read (another version's routing
 * state, say) but whose heartbeat time it can: pod index to that time. Such a pod gets no users
 * from this reader, and its users stay linked to it while it heartbeats.
 */
public record ServiceState(String namespace, String service, long readTimeMillis, List<PodState> pods,
        Map<Integer, Long> unreadablePods) {

    public ServiceState {
        pods = List.copyOf(pods);
        unreadablePods = Map.copyOf(unreadablePods);
    }

    /** A read in which every entry was understood. */
    public ServiceState(String namespace, String service, long readTimeMillis, List<PodState> pods) {
        this(namespace, service, readTimeMillis, pods, Map.of());
    }

    /** The state of one pod, if it has published one. */
    public Optional<PodState> pod(int podIndex) {
        return this.pods.stream().filter((pod) -> pod.podIndex() == podIndex).findFirst();
    }
}
