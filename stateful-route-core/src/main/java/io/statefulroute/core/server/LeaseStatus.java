package io.statefulroute.core.server;

import java.time.Instant;

/**
 * This pod's lease and what it cost so far.
 *
 * @param live whether the pod owns its users now (a heartbeat reached Redis within the lease duration)
 * @param lapses how many times the lease lapsed since the driver started
 * @param lastLapse when the lease last lapsed, null if never
 * @param usersLost users reported lost since the driver started
 * @param unconfirmedUsers held users whose ownership is not confirmed yet (after a lapse, an end,
 * or linked within the confirm delay after a lease began)
 * @param linksRestored links of held users that the pod found missing in Redis (lost by a
 * failover or a restart) and wrote back, since the driver started
 */
public record LeaseStatus(boolean live, long lapses, Instant lastLapse, long usersLost, int unconfirmedUsers,
        long linksRestored) {
}
