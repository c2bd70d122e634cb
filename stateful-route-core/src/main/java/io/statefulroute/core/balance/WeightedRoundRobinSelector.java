package io.statefulroute.core.balance;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.statefulroute.core.state.PodState;

/** Smooth weighted round robin per service; weights follow each pod's published load. */
final class WeightedRoundRobinSelector implements PodSelector {

    private final ConcurrentHashMap<String, Map<Integer, Double>> currentWeights = new ConcurrentHashMap<>();

    @Override
    public PodState select(String service, List<PodState> routable) {
        Map<Integer, Double> current = this.currentWeights.computeIfAbsent(service, (s) -> new HashMap<>());
        synchronized (current) {
            double total = 0;
            PodState best = null;
            double bestWeight = Double.NEGATIVE_INFINITY;
            for (PodState pod : routable) {
                double weight = 1.0 / (1.0 + pod.loadScore());
                total += weight;
                double updated = current.getOrDefault(pod.podIndex(), 0.0) + weight;
                current.put(pod.podIndex(), updated);
                if (updated > bestWeight) {
                    bestWeight = updated;
                    best = pod;
                }
            }
            current.put(best.podIndex(), bestWeight - total);
            return best;
        }
    }
}
