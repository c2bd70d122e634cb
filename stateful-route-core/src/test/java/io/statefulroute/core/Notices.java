package io.statefulroute.core;

import java.util.function.Consumer;

import io.statefulroute.core.link.LinkChangeListener;

/** Link change listeners for tests that only collect what changed. */
public final class Notices {

    private Notices() {
    }

    /** Hands on the uid of every change; probes and subscriptions are ignored. */
    public static LinkChangeListener uids(Consumer<String> changed) {
        return uids(changed, () -> {
        });
    }

    /** Hands on the uid of every change, and runs {@code subscribed} on every (re)subscription. */
    public static LinkChangeListener uids(Consumer<String> changed, Runnable subscribed) {
        return new LinkChangeListener() {
            @Override
            public void linkChanged(String namespace, String uid, String service) {
                changed.accept(uid);
            }

            @Override
            public void probeReceived(String token) {
            }

            @Override
            public void subscribed() {
                subscribed.run();
            }
        };
    }
}
