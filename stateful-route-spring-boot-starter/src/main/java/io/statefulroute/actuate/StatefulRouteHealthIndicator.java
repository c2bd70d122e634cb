package io.statefulroute.actuate;

import io.statefulroute.core.server.HeartbeatStatus;
import io.statefulroute.core.server.LeaseStatus;
import io.statefulroute.core.server.StatefulRouteForServerDriver;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Health of this pod's heartbeat: {@code UP} while heartbeats reach Redis, {@code DOWN}
 * when the last one failed (gateways will soon consider the pod dead), {@code UNKNOWN}
 * before the first attempt. Details tell whether the pod's lease is live (a lapsed lease means
 * the pod owns none of its users and takes no new ones), how often it lapsed and how many users
 * were lost. A draining or stopped pod is not unhealthy: its routing state
 * is a detail, never a status, so draining cannot fail a probe. Register it in a readiness
 * group if you like; keep it out of the liveness group, since restarting the pod does not
 * bring Redis back.
 */
public class StatefulRouteHealthIndicator implements HealthIndicator {

    private final StatefulRouteForServerDriver server;

    public StatefulRouteHealthIndicator(StatefulRouteForServerDriver server) {
        this.server = server;
    }

    @Override
    public Health health() {
        HeartbeatStatus status = this.server.heartbeatStatus();
        Health.Builder builder;
        if (status.lastSuccess() == null && status.lastFailure() == null) {
            builder = Health.unknown();
        }
        else {
            builder = status.healthy() ? Health.up() : Health.down();
        }
        LeaseStatus lease = this.server.leaseStatus();
        builder.withDetail("pod", this.server.identity().toString())
            .withDetail("routingState", this.server.getRoutingState())
            .withDetail("lease", lease.live() ? "LIVE" : "LAPSED")
            .withDetail("leaseLapses", lease.lapses())
            .withDetail("usersLost", lease.usersLost())
            .withDetail("unconfirmedUsers", lease.unconfirmedUsers());
        if (lease.lastLapse() != null) {
            builder.withDetail("lastLeaseLapse", lease.lastLapse());
        }
        if (status.lastSuccess() != null) {
            builder.withDetail("lastSuccess", status.lastSuccess());
        }
        if (status.lastError() != null) {
            builder.withDetail("lastFailure", status.lastFailure())
                .withDetail("lastError", status.lastError())
                .withDetail("consecutiveFailures", status.consecutiveFailures());
        }
        return builder.build();
    }

}
