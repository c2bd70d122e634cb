package io.statefulroute.core.link;

/** How a {@code computeLinkedPod} call was answered. */
public enum RouteOutcome {

    /** From the local cache: no Redis call. */
    CACHE_HIT,

    /** The user's existing link, read from Redis. */
    EXISTING_LINK,

    /** A new link to the chosen pod. */
    NEW_LINK,

    /** The linked pod was dead or gone; the user was moved to a live pod. */
    RELINKED,

    /** A new link was needed and no pod was routable. */
    NO_ROUTABLE_POD,

    /** Any other failure (Redis unavailable, foreign namespace...). */
    ERROR
}
