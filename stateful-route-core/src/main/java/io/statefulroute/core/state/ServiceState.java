package io.statefulroute.core.state;

import java.util.List;
import java.util.Optional;

/**
 * Every pod state of one service as read from Redis in one atomic step.
 *
 * @param namespace the namespace
 * @param service the service
 * @param readTimeMillis Redis' clock when the states were read, to judge their age
 * @param pods the pods' states, ordered by pod index
 */
public record ServiceState(String namespace, String service, long readTimeMillis, List<PodState> pods) {

    public ServiceState {
        pods = List.copyOf(pods);
    }

    /** The state of one pod, if it has published one. */
    public Optional<PodState> pod(int podIndex) {
        return this.pods.stream().filter((pod) -> pod.podIndex() == podIndex).findFirst();
    }
}
