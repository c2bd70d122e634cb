package io.statefulroute.core.server;

import java.time.Duration;

import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.ServiceStateCache;

/** Gateways for the ownership tests, wired as the starter wires one. */
final class TestGateways {

    private TestGateways() {
    }

    /**
     * A load-aware gateway of the namespace following link change notices, judging pods that
     * publish no lease terms by {@code podExpiry} and {@code relinkGrace}; the caller refreshes it.
     */
    static StatefulRouteForClientDriver following(StatefulExecutor executor, String ns, Duration podExpiry,
            Duration relinkGrace) {
        StatefulRouteForClientDriver gateway = new StatefulRouteForClientDriver(executor,
                new RouteInfoDriver(new ServiceStateCache(executor, podExpiry, relinkGrace),
                        PodSelectionStrategy.LOAD_AWARE.newSelector()),
                ClientOptions.defaults(ns));
        gateway.listenForLinkChanges();
        return gateway;
    }
}
