package io.statefulroute.core.server;

import java.time.Instant;

/**
 * This pod's lease and what it cost so far.
 *
 * @param live whether the pod owns its users now (a heartbeat reached Redis within the lease duration)
 * @param lapses how many times the lease lapsed since the driver started
 * @param lastLapse when the lease last lapsed, null if never
 * @param usersLost users reported lost since the driver started
 * @param unconfirmedUsers held users from before the last lapse whose ownership is not confirmed yet
 */
public record LeaseStatus(boolean live, long lapses, Instant lastLapse, long usersLost, int unconfirmedUsers) {
}
