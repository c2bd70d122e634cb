package io.statefulroute.core.link;

/**
 * Outcome of a try-set: whether the link was written, and the pod the user is linked to now.
 *
 * @param success whether the requested pod is now linked
 * @param podIndex the pod linked after the call (the requested one, or the persistent holder)
 */
public record TrySetResult(boolean success, int podIndex) {
}
