package io.statefulroute.core.balance;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleSupplier;
import java.util.function.ToLongFunction;

import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.ServiceView;

/**
 * Where a new user goes: the steps that narrow a view's routable pods before the selector picks
 * among them. Pods at their capacity are left out; then, for a gateway with a zone, the pods of
 * its zone are kept while one of them has room and is not busy; then a pod the selector picks
 * that is warming up keeps the user only with the probability of its warm-up weight, else the
 * selector picks again among the pods that are not warming up. So a pod's share of new users is
 * its share under the selector times its weight, whatever the selector, and every gateway ramps
 * it alike: the weight follows the pod's published start on Redis' clock, not when a gateway
 * happened to see the pod first.
 *
 * <p>Each step runs only where a pod or the gateway asks for it, and leaves the list as it is (no
 * allocation) where it removes nothing: this runs for every new user.
 */
final class Placement {

    private final PodSelector selector;

    private final ZonePreference zones;

    /** Redis' clock now, as a view estimates it; a test's own clock. */
    private final ToLongFunction<ServiceView> clock;

    /** Uniform in [0, 1): whether a warming pod keeps the user it was picked for. */
    private final DoubleSupplier random;

    Placement(PodSelector selector, ZonePreference zones, ToLongFunction<ServiceView> clock, DoubleSupplier random) {
        this.selector = selector;
        this.zones = zones;
        this.clock = clock;
        this.random = random;
    }

    /** The selector's pick among the pods a new user may go to, or null when none has room. */
    PodState select(ServiceView view) {
        List<PodState> routable = view.routablePods();
        if (routable.isEmpty()) {
            return null;
        }
        boolean capacity = view.hasCapacityLimits();
        boolean warming = view.isWarmingUp();
        if (this.zones.zone() == null && !capacity && !warming) {
            return this.selector.select(view.service(), routable);
        }
        List<PodState> open = capacity ? withRoom(view, routable) : routable;
        if (open.isEmpty()) {
            return null;
        }
        List<PodState> candidates = inZone(view, routable, open);
        PodState pick = this.selector.select(view.service(), candidates);
        return warming ? warmedUp(view, candidates, pick) : pick;
    }

    /**
     * The pick if it is not warming up, or keeps the user by its weight; otherwise the selector's
     * pick among the candidates that are not warming up (the pick itself when all are).
     */
    private PodState warmedUp(ServiceView view, List<PodState> candidates, PodState pick) {
        long now = this.clock.applyAsLong(view);
        double weight = view.warmUpWeight(pick, now);
        if (weight >= 1 || this.random.getAsDouble() < weight) {
            return pick;
        }
        List<PodState> warm = new ArrayList<>(candidates.size());
        for (int i = 0; i < candidates.size(); i++) {
            if (view.warmUpWeight(candidates.get(i), now) >= 1) {
                warm.add(candidates.get(i));
            }
        }
        return warm.isEmpty() ? pick : this.selector.select(view.service(), warm);
    }

    /** The pods that have room; the same list when all have. */
    private static List<PodState> withRoom(ServiceView view, List<PodState> pods) {
        int full = 0;
        while (full < pods.size() && view.hasRoom(pods.get(full))) {
            full++;
        }
        if (full == pods.size()) {
            return pods;
        }
        List<PodState> open = new ArrayList<>(pods.subList(0, full));
        for (int i = full + 1; i < pods.size(); i++) {
            if (view.hasRoom(pods.get(i))) {
                open.add(pods.get(i));
            }
        }
        return open;
    }

    /**
     * The open pods of the gateway's zone, unless there are none or all are busy: then all open
     * pods. While no pod is full the view keeps the zone's list, so it is built once per view.
     */
    private List<PodState> inZone(ServiceView view, List<PodState> routable, List<PodState> open) {
        String zone = this.zones.zone();
        if (zone == null) {
            return open;
        }
        List<PodState> local = (open == routable) ? view.routablePodsIn(zone)
                : open.stream().filter((pod) -> zone.equals(pod.zone())).toList();
        if (local.isEmpty() || local.size() == open.size() || allBusy(local)) {
            return open;
        }
        return local;
    }

    private boolean allBusy(List<PodState> pods) {
        double threshold = this.zones.loadThreshold();
        if (threshold == Double.POSITIVE_INFINITY) {
            return false;
        }
        for (int i = 0; i < pods.size(); i++) {
            if (pods.get(i).loadScore() < threshold) {
                return false;
            }
        }
        return true;
    }
}
