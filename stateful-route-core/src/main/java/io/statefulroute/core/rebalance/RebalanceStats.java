package io.statefulroute.core.rebalance;

/**
 * What a {@link Rebalancer} did since it was created.
 *
 * @param rounds rounds that read the service's pods
 * @param proposed moves proposed (a user this pod sheds, counted in every round that proposes it)
 * @param accepted moves the application consented to
 * @param refused moves the application refused
 * @param completed users handed off to their target pod
 * @param failed consented moves that did not happen
 */
public record RebalanceStats(long rounds, long proposed, long accepted, long refused, long completed, long failed) {
}
