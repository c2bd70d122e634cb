package io.statefulroute.core.state;

import java.util.List;

/** Views of pods a test makes up, as a gateway would hold them just after reading them from Redis. */
public final class TestViews {

    /** The pod expiry and relink grace the views judge pods by. */
    public static final long POD_EXPIRY_MILLIS = 5_000;

    private TestViews() {
    }

    /** A view read at {@code readTimeMillis} (Redis' clock) of the given pods, ordered by index. */
    public static ServiceView of(String service, long readTimeMillis, PodState... pods) {
        return new ServiceView(new ServiceState("test", service, readTimeMillis, List.of(pods)), POD_EXPIRY_MILLIS,
                2_000, new OutageClock(), new AbsentPods(), new RecentPlacements(POD_EXPIRY_MILLIS));
    }
}
