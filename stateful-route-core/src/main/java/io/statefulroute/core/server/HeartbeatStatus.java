package io.statefulroute.core.server;

import java.time.Instant;

/**
 * Outcome of this pod's recent heartbeats.
 *
 * @param lastSuccess when a heartbeat last reached Redis, null if none did yet
 * @param lastFailure when a heartbeat last failed, null if none did
 * @param lastError message of the last failure, null if none
 * @param consecutiveFailures failures since the last success
 */
public record HeartbeatStatus(Instant lastSuccess, Instant lastFailure, String lastError, int consecutiveFailures) {

    static final HeartbeatStatus NONE = new HeartbeatStatus(null, null, null, 0);

    /** Whether the last heartbeat reached Redis. */
    public boolean healthy() {
        return this.lastSuccess != null && this.consecutiveFailures == 0;
    }

    HeartbeatStatus succeeded(Instant at) {
        return new HeartbeatStatus(at, this.lastFailure, this.lastError, 0);
    }

    HeartbeatStatus failed(Instant at, String error) {
        return new HeartbeatStatus(this.lastSuccess, at, error, this.consecutiveFailures + 1);
    }
}
