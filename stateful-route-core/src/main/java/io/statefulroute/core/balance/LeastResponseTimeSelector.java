package io.statefulroute.core.balance;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import io.statefulroute.core.state.PodState;

/** Picks the pod with the lowest exponentially weighted average response time. */
final class LeastResponseTimeSelector implements PodSelector {

    /** Weight of a new sample: about the last 10 calls dominate the average. */
    private static final double ALPHA = 0.2;

    private final ConcurrentHashMap<String, ConcurrentHashMap<Integer, Double>> averages = new ConcurrentHashMap<>();

    @Override
    public PodState select(String service, List<PodState> routable) {
        ConcurrentHashMap<Integer, Double> byPod = this.averages.get(service);
        if (byPod == null) {
            return PodSelectionStrategy.any(routable);
        }
        PodState best = null;
        double bestAverage = Double.MAX_VALUE;
        for (PodState pod : routable) {
            Double average = byPod.get(pod.podIndex());
            if (average == null) {
                return pod;
            }
            if (average < bestAverage) {
                bestAverage = average;
                best = pod;
            }
        }
        return best;
    }

    @Override
    public void recordResponseTime(String service, int podIndex, long nanos) {
        this.averages.computeIfAbsent(service, (s) -> new ConcurrentHashMap<>())
                .merge(podIndex, (double) nanos, (old, sample) -> old + ALPHA * (sample - old));
    }
}
