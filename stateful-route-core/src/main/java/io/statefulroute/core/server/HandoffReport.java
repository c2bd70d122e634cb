package io.statefulroute.core.server;

/**
 * Outcome of handing this pod's users over to other pods.
 *
 * @param moved users now linked (persistently) to another pod
 * @param gone users no longer linked to this pod when their turn came (left or moved already)
 * @param failed users that could not be moved (no routable pod, Redis error); still linked here
 */
public record HandoffReport(int moved, int gone, int failed) {
}
