package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;

import io.statefulroute.core.link.LinkChangeListener;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.core.state.LeaseTerms;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodPlacement;
import io.statefulroute.core.state.ServiceState;
import io.statefulroute.core.state.WorkloadState;

/**
 * Every Redis operation of stateful-route. Each operation is atomic (one Lua script where it
 * reads and writes) and costs one round trip; batch reads are pipelined.
 *
 * <p>Each operation comes in two forms: {@code ...Async} returns a future that completes
 * exceptionally with a {@link io.statefulroute.core.RedisUnavailableException} when Redis
 * does not answer within the command timeout; the blocking form waits at most that timeout.
 * Arguments are checked before any Redis call and rejected with
 * {@link io.statefulroute.core.InvalidRouteArgumentException}.
 *
 * <p>TTLs are in seconds; {@link io.statefulroute.core.RouteArguments#PERSIST_FOREVER} makes a
 * link persistent. "No pod" is an empty {@link OptionalInt}, never pod 0.
 */
public interface StatefulExecutor extends AutoCloseable {

    /** Publishes one pod's state; Redis stamps the update time. */
    CompletableFuture<Void> setServiceStateAsync(String namespace, String service, int podIndex,
            RoutingState routingState, double loadScore);

    /**
     * Publishes one pod's state with the address it serves on ({@code null}: none) and, in the
     * same atomic step, the service's workload state ({@code null} leaves it unchanged; pod 0
     * publishes it): the heartbeat, without lease terms.
     */
    default CompletableFuture<Long> heartbeatAsync(String namespace, String service, int podIndex,
            RoutingState routingState, double loadScore, String workload, PodAddress address) {
        return heartbeatAsync(namespace, service, podIndex, routingState, loadScore, workload, address, null);
    }

    /** The heartbeat without a user count or capacity. */
    default CompletableFuture<Long> heartbeatAsync(String namespace, String service, int podIndex,
            RoutingState routingState, double loadScore, String workload, PodAddress address, LeaseTerms leaseTerms) {
        return heartbeatAsync(namespace, service, podIndex, routingState, loadScore, workload, address, leaseTerms,
                null);
    }

    /**
     * The heartbeat: publishes one pod's state with the address it serves on ({@code null}:
     * none), the lease terms gateways judge it by ({@code null}: theirs) and the users it holds
     * and takes ({@code null}: none said) and, in the same atomic step, the service's workload
     * state ({@code null} leaves it unchanged; pod 0 publishes it). Completes with Redis' clock
     * (epoch millis) at which it stamped the heartbeat.
     */
    CompletableFuture<Long> heartbeatAsync(String namespace, String service, int podIndex,
            RoutingState routingState, double loadScore, String workload, PodAddress address, LeaseTerms leaseTerms,
            PodPlacement placement);

    /** Every pod state of a service, with Redis' clock at the time of reading. */
    CompletableFuture<ServiceState> getServiceStateAsync(String namespace, String service);

    /** Sets the workload state of a service. */
    CompletableFuture<Void> setWorkloadStateAsync(String namespace, String service, String workload);

    /** Workload states of the given services, pipelined; services without one are absent. */
    CompletableFuture<Map<String, WorkloadState>> getWorkloadStateAsync(String namespace, Collection<String> services);

    /** Links the user to the pod, replacing any link; completes with the previous pod. */
    CompletableFuture<OptionalInt> setLinkedPodAsync(String namespace, String uid, String service, int podIndex,
            long persistSeconds);

    /** {@link #setLinkedPodAsync} that Redis refuses once the fence has passed (a pod's write). */
    CompletableFuture<OptionalInt> setLinkedPodAsync(String namespace, String uid, String service, int podIndex,
            long persistSeconds, WriteFence fence);

    /**
     * Links the user to the pod unless a persistent link holds the user on another pod.
     * A temporary link (a reservation) is replaced; a persistent link to the same pod is left
     * as it is when the call asks for a persistent one.
     */
    CompletableFuture<TrySetResult> trySetLinkedPodAsync(String namespace, String uid, String service, int podIndex,
            long persistSeconds);

    /** {@link #trySetLinkedPodAsync} that Redis refuses once the fence has passed (a pod's write). */
    CompletableFuture<TrySetResult> trySetLinkedPodAsync(String namespace, String uid, String service, int podIndex,
            long persistSeconds, WriteFence fence);

    /**
     * Returns the user's live link, or links the given pod if there is none. Racing callers
     * all get the same pod: the first writer wins. Where link change notices come by client
     * tracking, a live link returned is tracked for this client, and a link created is not
     * ({@link #hearsOfChangesToCreatedLinks}).
     */
    CompletableFuture<LinkInfo> setLinkedPodIfAbsentAsync(String namespace, String uid, String service, int podIndex,
            long persistSeconds);

    /**
     * Moves the user to {@code newPodIndex} if the user is still linked to
     * {@code expectedPodIndex} or not linked at all; completes with the link after the call
     * ({@link LinkInfo#created()} tells whether it changed).
     */
    CompletableFuture<LinkInfo> compareAndSetLinkedPodAsync(String namespace, String uid, String service,
            int expectedPodIndex, int newPodIndex, long persistSeconds);

    /**
     * {@link #compareAndSetLinkedPodAsync} that Redis refuses once the fence has passed: a
     * gateway's relink, or a pod restoring the link of a user it holds (expected and new pod
     * both the pod itself).
     */
    CompletableFuture<LinkInfo> compareAndSetLinkedPodAsync(String namespace, String uid, String service,
            int expectedPodIndex, int newPodIndex, long persistSeconds, WriteFence fence);

    /**
     * Hands a user over: moves the link from {@code fromPodIndex} to {@code toPodIndex} and
     * makes it persistent, only if the user is still linked to {@code fromPodIndex}.
     * Completes with whether it moved. Gateways are notified like any other move.
     */
    CompletableFuture<Boolean> handOffLinkedPodAsync(String namespace, String uid, String service, int fromPodIndex,
            int toPodIndex);

    /** {@link #handOffLinkedPodAsync} that Redis refuses once the fence has passed (a pod's write). */
    CompletableFuture<Boolean> handOffLinkedPodAsync(String namespace, String uid, String service, int fromPodIndex,
            int toPodIndex, WriteFence fence);

    /** The user's live link to the service, if any. */
    CompletableFuture<Optional<LinkInfo>> getLinkAsync(String namespace, String uid, String service);

    /** The pods linked to the given users, pipelined: pod to its users; unlinked users are absent. */
    CompletableFuture<Map<Integer, List<String>>> batchGetLinkedPodAsync(String namespace, Collection<String> uids,
            String service);

    /**
     * {@link #batchGetLinkedPodAsync} for users the caller keeps following (a pod's own users):
     * where notices come by client tracking, each read is tracked for this client, so later
     * changes of those users reach it even after a change it was told of or a restart of
     * tracking, each of which ends Redis' tracking of what was read before.
     */
    default CompletableFuture<Map<Integer, List<String>>> batchGetLinkedPodAndFollowAsync(String namespace,
            Collection<String> uids, String service) {
        return batchGetLinkedPodAsync(namespace, uids, service);
    }

    /**
     * Removes the user's link, or with {@code graceSeconds > 0} turns it into a temporary
     * link for that long; completes with the pod that was linked.
     */
    CompletableFuture<OptionalInt> removeLinkedPodAsync(String namespace, String uid, String service,
            long graceSeconds);

    /**
     * Removes the user's link only if it still points to {@code podIndex} (compare and
     * delete); completes with whether it did.
     */
    CompletableFuture<Boolean> removeLinkedPodWithIdAsync(String namespace, String uid, String service, int podIndex,
            long graceSeconds);

    /** {@link #removeLinkedPodWithIdAsync} that Redis refuses once the fence has passed (a pod's write). */
    CompletableFuture<Boolean> removeLinkedPodWithIdAsync(String namespace, String uid, String service, int podIndex,
            long graceSeconds, WriteFence fence);

    /**
     * Every live link of the user: service to pod, among the services that had a heartbeat or a
     * link written in the namespace within the pod state retention (a link to a service gone
     * for longer is not listed).
     */
    CompletableFuture<Map<String, Integer>> getLinkServiceAsync(String namespace, String uid);

    // Blocking forms: each waits at most the command timeout.

    /** Blocking form of {@link #setServiceStateAsync}. */
    void setServiceState(String namespace, String service, int podIndex, RoutingState routingState, double loadScore);

    /** Blocking form of {@link #getServiceStateAsync}. */
    ServiceState getServiceState(String namespace, String service);

    /** Blocking form of {@link #setWorkloadStateAsync}. */
    void setWorkloadState(String namespace, String service, String workload);

    /** Blocking form of {@link #getWorkloadStateAsync}. */
    Map<String, WorkloadState> getWorkloadState(String namespace, Collection<String> services);

    /** Blocking form of {@link #setLinkedPodAsync}. */
    OptionalInt setLinkedPod(String namespace, String uid, String service, int podIndex, long persistSeconds);

    /** Blocking form of {@link #trySetLinkedPodAsync}. */
    TrySetResult trySetLinkedPod(String namespace, String uid, String service, int podIndex, long persistSeconds);

    /**
     * Whether change notices reach this client for a link {@link #setLinkedPodIfAbsentAsync}
     * created, as for every link it read. Not where they come by client tracking: Redis tracks a
     * key for a client that reads it, and a new link is written, not read. Reading each one back
     * cost Redis a third more work per new user (a tracking table entry, and an invalidation when
     * the link expires) for users most of whom never come back; a caller that cannot hear of a
     * link it created does not cache it, and reads (and so tracks) it at the user's next call.
     */
    default boolean hearsOfChangesToCreatedLinks() {
        return true;
    }

    /** Blocking form of {@link #setLinkedPodIfAbsentAsync}. */
    LinkInfo setLinkedPodIfAbsent(String namespace, String uid, String service, int podIndex, long persistSeconds);

    /** The user's linked pod, if any. */
    OptionalInt getLinkedPod(String namespace, String uid, String service);

    /** The user's linked pod only if the link is persistent. */
    OptionalInt getLinkedPodIfPersist(String namespace, String uid, String service);

    /** Blocking form of {@link #batchGetLinkedPodAsync}. */
    Map<Integer, List<String>> batchGetLinkedPod(String namespace, Collection<String> uids, String service);

    /** Blocking form of {@link #removeLinkedPodAsync}. */
    OptionalInt removeLinkedPod(String namespace, String uid, String service, long graceSeconds);

    /** Blocking form of {@link #removeLinkedPodWithIdAsync}. */
    boolean removeLinkedPodWithId(String namespace, String uid, String service, int podIndex, long graceSeconds);

    /**
     * Entries read from Redis that this version did not understand (another version's or a
     * hand-written value) and skipped.
     */
    SkippedEntries skippedEntries();

    /** Blocking form of {@link #getLinkServiceAsync}. */
    Map<String, Integer> getLinkService(String namespace, String uid);

    /** Blocking form of {@link #handOffLinkedPodAsync}. */
    boolean handOffLinkedPod(String namespace, String uid, String service, int fromPodIndex, int toPodIndex);

    /**
     * Subscribes to link change notices: every script that moves or removes an existing link
     * publishes one in the same atomic step. Needs a pub/sub connection.
     * @return closes the subscription
     */
    AutoCloseable subscribeLinkChanges(LinkChangeListener listener);

    /** Publishes a probe on the link change channel, for subscribers to check that notices reach them. */
    CompletableFuture<Void> publishLinkProbeAsync(String token);

    /**
     * Identifies the data Redis holds: the role, run id and replication id of the server (of
     * every primary, on a cluster). It changes when Redis may have lost writes since the last
     * call (a restart, a failover to a replica that had not received them), and each of those
     * changes it; a pod then checks its users' links, and a gateway its cached ones.
     */
    CompletableFuture<String> redisIdentityAsync();

    /** The longest any call waits for Redis; a pod's write is fenced to land within it. */
    Duration commandTimeout();

    /** Waits for a future of this executor for at most the command timeout, translating failures. */
    <T> T await(CompletableFuture<T> future);

    /**
     * {@link #await} for one of several steps of a blocking call: waits until the command
     * timeout after {@code startedNanos} (a {@link System#nanoTime()} reading), so that all
     * steps together stay within one command timeout.
     */
    <T> T awaitSince(CompletableFuture<T> future, long startedNanos);

    /** Closes the Redis connection if this executor opened it. */
    @Override
    void close();
}
