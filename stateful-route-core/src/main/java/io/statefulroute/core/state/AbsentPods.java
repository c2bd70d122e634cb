package io.statefulroute.core.state;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * For one service, since when each pod whose entry is not in Redis counts as silent, on Redis'
 * clock: a pod whose entry vanished (a failover that lost it, the retention that dropped it)
 * since its last heartbeat this process saw, any other since the first read that looked for it.
 * A missing entry is no proof that the pod is gone: its users move only once it has been
 * silent for a whole pod expiry plus relink grace, as a pod that stopped heartbeating.
 */
final class AbsentPods {

    /** Pods remembered at most; beyond, the memory starts over, which only makes relinks wait longer. */
    private static final int MAX_PODS = 4096;

    private final Map<Integer, Long> silentSince = new ConcurrentHashMap<>();

    /** A read of the service after {@code previous} (null for the first): entries that vanished keep their last time. */
    void observed(ServiceState previous, ServiceState current) {
        Set<Integer> present = new HashSet<>(current.unreadablePods().keySet());
        for (PodState pod : current.pods()) {
            present.add(pod.podIndex());
        }
        if (!this.silentSince.isEmpty()) {
            present.forEach(this.silentSince::remove);
        }
        if (previous == null) {
            return;
        }
        for (PodState before : previous.pods()) {
            if (!present.contains(before.podIndex())) {
                remember(before.podIndex(), before.updateTimeMillis());
            }
        }
    }

    /** Since when the pod counts as silent: as remembered, else from {@code readTimeMillis} on. */
    long silentSince(int podIndex, long readTimeMillis) {
        Long since = this.silentSince.get(podIndex);
        return (since != null) ? since : remember(podIndex, readTimeMillis);
    }

    private long remember(int podIndex, long sinceMillis) {
        if (this.silentSince.size() >= MAX_PODS) {
            this.silentSince.clear();
        }
        Long before = this.silentSince.putIfAbsent(podIndex, sinceMillis);
        return (before != null) ? before : sinceMillis;
    }
}
