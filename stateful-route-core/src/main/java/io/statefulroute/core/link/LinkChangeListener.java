package io.statefulroute.core.link;

/**
 * Receives the notices Redis publishes, in the same atomic step, whenever an existing link
 * moves to another pod, is removed or is shortened. Called on the Redis client's I/O thread: keep it quick.
 */
public interface LinkChangeListener {

    /**
     * The user's link to the service moved, went away or now ends sooner; cached copies are
     * stale.
     */
    void linkChanged(String namespace, String uid, String service);

    /** A probe sent with {@code publishLinkProbe} came back: notices reach this listener. */
    void probeReceived(String token);

    /**
     * The subscription is (re)established, e.g. after a reconnect: notices published while it
     * was down are lost, so every cached link may be stale.
     */
    void subscribed();
}
