package io.statefulroute.core;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.statefulroute.core.server.LossReason;
import io.statefulroute.core.server.OwnershipListener;
import io.statefulroute.core.server.StatefulRouteForServerDriver;

/** Collects the users a pod reports lost, whatever the reason, for tests to wait on. */
public final class LostUsers {

    private LostUsers() {
    }

    /** A live set of every user {@code pod} reports lost from now on. */
    public static Set<String> of(StatefulRouteForServerDriver pod) {
        Set<String> lost = ConcurrentHashMap.newKeySet();
        pod.addOwnershipListener(new OwnershipListener() {
            @Override
            public void usersLost(PodIdentity identity, Set<String> uids, LossReason reason) {
                lost.addAll(uids);
            }
        });
        return lost;
    }
}
