package io.statefulroute.core.redis;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.statefulroute.core.FencedWriteException;
import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.UserTakenException;
import io.statefulroute.core.link.LinkChangeListener;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.core.link.TrySetResult;
import io.statefulroute.core.state.LeaseTerms;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodPlacement;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceState;
import io.statefulroute.core.state.WorkloadState;

import static io.statefulroute.core.RouteArguments.requireGraceSeconds;
import static io.statefulroute.core.RouteArguments.requireId;
import static io.statefulroute.core.RouteArguments.requireNonNull;
import static io.statefulroute.core.RouteArguments.requirePodIndex;
import static io.statefulroute.core.RouteArguments.requireTtlSeconds;

/**
 * {@link StatefulExecutor} on Redis through one Lettuce connection (standalone, Sentinel or
 * Cluster). Build it with {@link #builder()}.
 */
public final class RedisStatefulExecutor implements StatefulExecutor {

    private static final String[] NO_ARGS = {};

    /** Services per namespace this executor remembers recording before it starts over. */
    private static final int MAX_RECORDED_SERVICES = 10_000;

    private static final String[] POD_ARGUMENTS = IntStream.range(0, 1024).mapToObj(Integer::toString)
        .toArray(String[]::new);

    private final RedisAccess redis;

    private final RouteKeys keys;

    private final long timeoutMillis;

    private final long timeoutNanos;

    private final String podStateRetentionMillis;

    private volatile TtlArgument lastTtl;

    private final long recordAgainNanos;

    /** The channel link scripts publish changes on; '' when they publish none. */
    private final String publishedChannel;

    private final RedisCallListener listener;

    private final SkippedEntries skipped = new SkippedEntries();

    /** How link change notices reach this executor's followers: by client tracking or on the channel. */
    private final LinkNotices notices;

    /** The connection link scripts run on tracked, when notices may come by tracking; null when they come on the channel. */
    private final LinkConnection trackingConnection;

    /** Where fenced writes go when replicas must confirm them; null when none is asked for. */
    private final LinkConnection acknowledged;

    /**
     * Namespace to service to the {@code System.nanoTime()} until which this executor counts
     * the service as recorded in the namespace's registry (a quarter of the retention).
     */
    private final Map<String, Map<String, Long>> recordedUntil = new ConcurrentHashMap<>();

    /** Opens dropped connections again at once; null for a connection given as is. */
    private final Reopener reopener;

    /**
     * @param tracking where link scripts run tracked, or null for notices on the channel
     * @param trackingWhereSupported whether notices come on the channel once a server cannot track
     */
    RedisStatefulExecutor(RedisAccess redis, LinkConnection tracking, boolean trackingWhereSupported,
            LinkConnection acknowledged, boolean publishChanges, String keyPrefix, Duration commandTimeout,
            Duration podStateRetention, RedisCallListener listener, Reopener reopener) {
        this.redis = redis;
        this.reopener = reopener;
        this.trackingConnection = tracking;
        this.acknowledged = acknowledged;
        this.listener = listener;
        this.keys = new RouteKeys(keyPrefix);
        this.notices = new LinkNotices(redis, this.keys, this.skipped, tracking, trackingWhereSupported, publishChanges,
                acknowledged);
        // connected once the notices hear what they report: at connect, whether the server tracks
        if (tracking != null) {
            tracking.start(this.notices);
        }
        if (acknowledged != null) {
            acknowledged.start(acknowledged.tracks() ? this.notices : null);
        }
        this.publishedChannel = publishChanges ? this.keys.linkChangesChannel() : "";
        this.timeoutMillis = commandTimeout.toMillis();
        this.timeoutNanos = commandTimeout.toNanos();
        this.podStateRetentionMillis = Long.toString(podStateRetention.toMillis());
        this.recordAgainNanos = podStateRetention.toNanos() / 4;
    }

    /** Starts building an executor. */
    public static Builder builder() {
        return new Builder();
    }

    /** The key prefix every key of this executor starts with. */
    public String keyPrefix() {
        return this.keys.prefix();
    }

    /** The longest a blocking call waits for Redis. */
    @Override
    public Duration commandTimeout() {
        return Duration.ofMillis(this.timeoutMillis);
    }

    // ---- pod and workload states

    @Override
    public CompletableFuture<Void> setServiceStateAsync(String namespace, String service, int podIndex,
            RoutingState routingState, double loadScore) {
        return heartbeatAsync(namespace, service, podIndex, routingState, loadScore, null, null, null, null)
            .thenApply((stamped) -> null);
    }

    @Override
    public void setServiceState(String namespace, String service, int podIndex, RoutingState routingState,
            double loadScore) {
        await(heartbeatAsync(namespace, service, podIndex, routingState, loadScore, null, null, null, null));
    }

    @Override
    public CompletableFuture<Long> heartbeatAsync(String namespace, String service, int podIndex,
            RoutingState routingState, double loadScore, String workload, PodAddress address, LeaseTerms leaseTerms,
            PodPlacement placement) {
        requireId("namespace", namespace);
        requireId("service", service);
        requirePodIndex("podIndex", podIndex);
        requireNonNull("routingState", routingState);
        if (!Double.isFinite(loadScore) || loadScore < 0) {
            throw new InvalidRouteArgumentException("loadScore", loadScore + " must be a finite number >= 0");
        }
        requireWorkload(workload, true);
        String[] scriptKeys = { this.keys.pods(namespace, service), this.keys.workload(namespace, service) };
        return call("heartbeat", registered(namespace, service, this.redis.<Long>eval(LuaScript.HEARTBEAT,
                ScriptOutputType.INTEGER, scriptKeys, podArgument(podIndex), routingState.name(),
                Double.toString(loadScore), this.podStateRetentionMillis, (workload != null) ? workload : "",
                (address != null) ? address.toEntryField() : "",
                (leaseTerms != null) ? leaseTerms.toEntryField() : "",
                (placement != null) ? EntryFormat.usersField(placement) : "",
                (placement != null && placement.publishesWarmUp()) ? Long.toString(placement.routableForMillis()) : "",
                (placement != null && placement.publishesWarmUp()) ? EntryFormat.warmUpField(placement.warmUp())
                        : "")), (stampedAt) -> stampedAt);
    }

    @Override
    public ServiceState getServiceState(String namespace, String service) {
        return await(getServiceStateAsync(namespace, service));
    }

    @Override
    public CompletableFuture<ServiceState> getServiceStateAsync(String namespace, String service) {
        requireId("namespace", namespace);
        requireId("service", service);
        String[] scriptKeys = { this.keys.pods(namespace, service) };
        return call("getServiceState",
                this.redis.<List<Object>>eval(LuaScript.GET_PODS, ScriptOutputType.MULTI, scriptKeys, NO_ARGS),
                (reply) -> toServiceState(namespace, service, reply));
    }

    /** Entries this version does not understand are skipped (and counted), never fatal for the others. */
    private ServiceState toServiceState(String namespace, String service, List<Object> reply) {
        long now = (Long) reply.get(0);
        List<PodState> pods = new ArrayList<>((reply.size() - 1) / 2);
        Map<Integer, Long> unreadable = new HashMap<>(0);
        String where = null;
        for (int i = 1; i + 1 < reply.size(); i += 2) {
            if (where == null) {
                where = namespace + "/" + service;
            }
            PodState pod = EntryFormat.parsePodEntry((String) reply.get(i), (String) reply.get(i + 1), this.skipped,
                    where, unreadable);
            if (pod != null) {
                pods.add(pod);
            }
        }
        pods.sort((a, b) -> Integer.compare(a.podIndex(), b.podIndex()));
        return new ServiceState(namespace, service, now, pods, unreadable);
    }

    @Override
    public SkippedEntries skippedEntries() {
        return this.skipped;
    }

    @Override
    public void setWorkloadState(String namespace, String service, String workload) {
        await(setWorkloadStateAsync(namespace, service, workload));
    }

    @Override
    public CompletableFuture<Void> setWorkloadStateAsync(String namespace, String service, String workload) {
        requireId("namespace", namespace);
        requireId("service", service);
        requireWorkload(workload, false);
        String[] scriptKeys = { this.keys.workload(namespace, service) };
        return call("setWorkloadState", this.redis.<Long>eval(LuaScript.SET_WORKLOAD, ScriptOutputType.INTEGER,
                scriptKeys, workload, this.podStateRetentionMillis), (ok) -> null);
    }

    private static void requireWorkload(String workload, boolean nullable) {
        if (workload != null || !nullable) {
            RouteArguments.requireWorkload("workload", workload);
        }
    }

    @Override
    public Map<String, WorkloadState> getWorkloadState(String namespace, Collection<String> services) {
        return await(getWorkloadStateAsync(namespace, services));
    }

    @Override
    public CompletableFuture<Map<String, WorkloadState>> getWorkloadStateAsync(String namespace,
            Collection<String> services) {
        requireId("namespace", namespace);
        requireNonNull("services", services);
        List<String> names = List.copyOf(services);
        names.forEach((service) -> requireId("service", service));
        List<CompletableFuture<String>> replies = new ArrayList<>(names.size());
        for (String service : names) {
            replies.add(this.redis.get(this.keys.workload(namespace, service)));
        }
        return call("getWorkloadState", CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)), (done) -> {
            Map<String, WorkloadState> states = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                String value = replies.get(i).join();
                if (value != null) {
                    int sep = value.indexOf(':');
                    states.put(names.get(i), new WorkloadState(names.get(i), value.substring(sep + 1),
                            Long.parseLong(value.substring(0, sep))));
                }
            }
            return states;
        });
    }

    // ---- links

    @Override
    public OptionalInt setLinkedPod(String namespace, String uid, String service, int podIndex, long persistSeconds) {
        return await(setLinkedPodAsync(namespace, uid, service, podIndex, persistSeconds));
    }

    @Override
    public CompletableFuture<OptionalInt> setLinkedPodAsync(String namespace, String uid, String service, int podIndex,
            long persistSeconds) {
        return setLink(namespace, uid, service, podIndex, persistSeconds, NOT_FENCED);
    }

    @Override
    public CompletableFuture<OptionalInt> setLinkedPodAsync(String namespace, String uid, String service, int podIndex,
            long persistSeconds, WriteFence fence) {
        return setLink(namespace, uid, service, podIndex, persistSeconds, fenceArgument(fence));
    }

    private CompletableFuture<OptionalInt> setLink(String namespace, String uid, String service, int podIndex,
            long persistSeconds, String fence) {
        String[] scriptKeys = linkKeys(namespace, uid, service);
        requirePodIndex("podIndex", podIndex);
        return call("setLinkedPod", registered(namespace, service, this.<Long>writeEval(fence, LuaScript.SET_LINK,
                ScriptOutputType.INTEGER, scriptKeys, podArgument(podIndex), ttlMillis(persistSeconds),
                this.publishedChannel, this.keys.linkChange(namespace, uid, service), fence, tracked())),
                (previous) -> {
                    OptionalInt was = toPod(previous);
                    // as set_link.lua notifies: moved, or perhaps shortened (a temporary link)
                    changedHere(was.isPresent() && (was.getAsInt() != podIndex || persistSeconds >= 0), namespace,
                            uid, service);
                    return was;
                });
    }

    @Override
    public TrySetResult trySetLinkedPod(String namespace, String uid, String service, int podIndex,
            long persistSeconds) {
        return await(trySetLinkedPodAsync(namespace, uid, service, podIndex, persistSeconds));
    }

    @Override
    public CompletableFuture<TrySetResult> trySetLinkedPodAsync(String namespace, String uid, String service,
            int podIndex, long persistSeconds) {
        return trySetLink(namespace, uid, service, podIndex, persistSeconds, NOT_FENCED);
    }

    @Override
    public CompletableFuture<TrySetResult> trySetLinkedPodAsync(String namespace, String uid, String service,
            int podIndex, long persistSeconds, WriteFence fence) {
        return trySetLink(namespace, uid, service, podIndex, persistSeconds, fenceArgument(fence));
    }

    private CompletableFuture<TrySetResult> trySetLink(String namespace, String uid, String service, int podIndex,
            long persistSeconds, String fence) {
        String[] scriptKeys = linkKeys(namespace, uid, service);
        requirePodIndex("podIndex", podIndex);
        return call("trySetLinkedPod", registered(namespace, service, this.<List<Object>>writeEval(fence,
                LuaScript.TRY_SET_LINK, ScriptOutputType.MULTI, scriptKeys, podArgument(podIndex),
                ttlMillis(persistSeconds), this.publishedChannel, this.keys.linkChange(namespace, uid, service),
                fence, tracked())),
                (reply) -> {
                    TrySetResult result = new TrySetResult(((Long) reply.get(0)) == 1, ((Long) reply.get(1)).intValue());
                    changedHere(result.success(), namespace, uid, service);
                    return result;
                });
    }

    @Override
    public LinkInfo setLinkedPodIfAbsent(String namespace, String uid, String service, int podIndex,
            long persistSeconds) {
        return await(setLinkedPodIfAbsentAsync(namespace, uid, service, podIndex, persistSeconds));
    }

    @Override
    public CompletableFuture<LinkInfo> setLinkedPodIfAbsentAsync(String namespace, String uid, String service,
            int podIndex, long persistSeconds) {
        String[] scriptKeys = linkKeys(namespace, uid, service);
        requirePodIndex("podIndex", podIndex);
        TtlArgument ttl = ttlArgument(persistSeconds);
        return call("setLinkedPodIfAbsent", registered(namespace, service, this.<List<Object>>linkEval(
                LuaScript.LINK_IF_ABSENT, ScriptOutputType.MULTI, scriptKeys, podArgument(podIndex), ttl.text())),
                (reply) -> toLinkIfAbsent(reply, ttl.millis()));
    }

    @Override
    public boolean hearsOfChangesToCreatedLinks() {
        return this.notices.tracking() == null;
    }

    @Override
    public CompletableFuture<LinkInfo> compareAndSetLinkedPodAsync(String namespace, String uid, String service,
            int expectedPodIndex, int newPodIndex, long persistSeconds) {
        return compareAndSet(namespace, uid, service, expectedPodIndex, newPodIndex, persistSeconds, true, NOT_FENCED);
    }

    @Override
    public CompletableFuture<LinkInfo> compareAndSetLinkedPodAsync(String namespace, String uid, String service,
            int expectedPodIndex, int newPodIndex, long persistSeconds, WriteFence fence) {
        return compareAndSet(namespace, uid, service, expectedPodIndex, newPodIndex, persistSeconds, true,
                fenceArgument(fence));
    }

    @Override
    public CompletableFuture<Boolean> handOffLinkedPodAsync(String namespace, String uid, String service,
            int fromPodIndex, int toPodIndex) {
        return compareAndSet(namespace, uid, service, fromPodIndex, toPodIndex, RouteArguments.PERSIST_FOREVER,
                false, NOT_FENCED).thenApply(LinkInfo::created);
    }

    @Override
    public CompletableFuture<Boolean> handOffLinkedPodAsync(String namespace, String uid, String service,
            int fromPodIndex, int toPodIndex, WriteFence fence) {
        return compareAndSet(namespace, uid, service, fromPodIndex, toPodIndex, RouteArguments.PERSIST_FOREVER,
                false, fenceArgument(fence)).thenApply(LinkInfo::created);
    }

    @Override
    public boolean handOffLinkedPod(String namespace, String uid, String service, int fromPodIndex, int toPodIndex) {
        return await(handOffLinkedPodAsync(namespace, uid, service, fromPodIndex, toPodIndex));
    }

    private CompletableFuture<LinkInfo> compareAndSet(String namespace, String uid, String service,
            int expectedPodIndex, int newPodIndex, long persistSeconds, boolean absentCountsAsExpected, String fence) {
        String[] scriptKeys = linkKeys(namespace, uid, service);
        requirePodIndex("expectedPodIndex", expectedPodIndex);
        requirePodIndex("newPodIndex", newPodIndex);
        return call("compareAndSetLinkedPod", registered(namespace, service, this.<List<Object>>writeEval(fence,
                LuaScript.COMPARE_AND_SET_LINK, ScriptOutputType.MULTI, scriptKeys,
                podArgument(expectedPodIndex), podArgument(newPodIndex), ttlMillis(persistSeconds),
                absentCountsAsExpected ? "1" : "0", this.publishedChannel,
                this.keys.linkChange(namespace, uid, service), fence, tracked())), (reply) -> {
                    LinkInfo link = toLinkInfo(reply);
                    // a move, or perhaps a shortening; a pod keeping or restoring its own user's link persistent is neither
                    changedHere(link.created() && (expectedPodIndex != newPodIndex || persistSeconds >= 0), namespace,
                            uid, service);
                    return link;
                });
    }

    @Override
    public OptionalInt getLinkedPod(String namespace, String uid, String service) {
        Optional<LinkInfo> link = await(getLinkAsync(namespace, uid, service));
        return link.isPresent() ? OptionalInt.of(link.get().podIndex()) : OptionalInt.empty();
    }

    @Override
    public OptionalInt getLinkedPodIfPersist(String namespace, String uid, String service) {
        Optional<LinkInfo> link = await(getLinkAsync(namespace, uid, service));
        return link.isPresent() && link.get().persistent() ? OptionalInt.of(link.get().podIndex()) : OptionalInt.empty();
    }

    @Override
    public CompletableFuture<Optional<LinkInfo>> getLinkAsync(String namespace, String uid, String service) {
        String[] scriptKeys = linkKeys(namespace, uid, service);
        return call("getLinkedPod",
                this.<List<Object>>linkEval(LuaScript.GET_LINK, ScriptOutputType.MULTI, scriptKeys, NO_ARGS),
                (reply) -> toLink(reply, namespace, service));
    }

    /** Decodes get_link.lua's reply: {pod, remaining ms}, {} for none, {-1} for a value not understood. */
    private Optional<LinkInfo> toLink(List<Object> reply, String namespace, String service) {
        if (reply.size() == 1) {
            this.skipped.skipped(SkippedEntries.Kind.MALFORMED_LINK, namespace + "/" + service, "link of a user");
        }
        return (reply.size() < 2) ? Optional.empty()
                : Optional.of(new LinkInfo(((Long) reply.get(0)).intValue(), (Long) reply.get(1), false));
    }

    @Override
    public Map<Integer, List<String>> batchGetLinkedPod(String namespace, Collection<String> uids, String service) {
        return await(batchGetLinkedPodAsync(namespace, uids, service));
    }

    /**
     * Pipelined GETs in one write, one per user (users live in different hash slots); Redis
     * expires links itself, so no clock is read.
     */
    @Override
    public CompletableFuture<Map<Integer, List<String>>> batchGetLinkedPodAsync(String namespace,
            Collection<String> uids, String service) {
        return batchGet(namespace, uids, service, this.redis::get);
    }

    /** GETs tracked for this client, one per user, when notices come by tracking; else {@link #batchGetLinkedPodAsync}. */
    @Override
    public CompletableFuture<Map<Integer, List<String>>> batchGetLinkedPodAndFollowAsync(String namespace,
            Collection<String> uids, String service) {
        LinkConnection tracking = this.notices.tracking();
        if (tracking == null) {
            return batchGetLinkedPodAsync(namespace, uids, service);
        }
        return batchGet(namespace, uids, service,
                (linkKeys) -> linkKeys.stream().map(tracking::trackedGet).toList());
    }

    private CompletableFuture<Map<Integer, List<String>>> batchGet(String namespace, Collection<String> uids,
            String service, Function<List<String>, List<CompletableFuture<String>>> reader) {
        requireId("namespace", namespace);
        requireId("service", service);
        requireNonNull("uids", uids);
        String[] users = uids.toArray(String[]::new);
        List<String> linkKeys = new ArrayList<>(users.length);
        for (String uid : users) {
            requireId("uid", uid);
            linkKeys.add(this.keys.link(namespace, uid, service));
        }
        if (users.length == 0) {
            return CompletableFuture.completedFuture(Map.of());
        }
        List<CompletableFuture<String>> replies = reader.apply(linkKeys);
        return call("batchGetLinkedPod", CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)), (done) -> {
            String where = namespace + "/" + service;
            Map<Integer, List<String>> byPod = new HashMap<>();
            for (int i = 0; i < users.length; i++) {
                int pod = EntryFormat.linkPod(replies.get(i).join(), this.skipped, where);
                if (pod >= 0) {
                    byPod.computeIfAbsent(pod, (p) -> new ArrayList<>()).add(users[i]);
                }
            }
            return byPod;
        });
    }

    @Override
    public CompletableFuture<OptionalInt> removeLinkedPodAsync(String namespace, String uid, String service,
            long graceSeconds) {
        return removeLink(namespace, uid, service, -1, graceSeconds, NOT_FENCED)
            .thenApply(RedisStatefulExecutor::removedPod);
    }

    @Override
    public OptionalInt removeLinkedPod(String namespace, String uid, String service, long graceSeconds) {
        return removedPod(await(removeLink(namespace, uid, service, -1, graceSeconds, NOT_FENCED)));
    }

    @Override
    public CompletableFuture<Boolean> removeLinkedPodWithIdAsync(String namespace, String uid, String service,
            int podIndex, long graceSeconds) {
        requirePodIndex("podIndex", podIndex);
        return removeLink(namespace, uid, service, podIndex, graceSeconds, NOT_FENCED)
            .thenApply((reply) -> reply[0] == 1);
    }

    @Override
    public CompletableFuture<Boolean> removeLinkedPodWithIdAsync(String namespace, String uid, String service,
            int podIndex, long graceSeconds, WriteFence fence) {
        requirePodIndex("podIndex", podIndex);
        return removeLink(namespace, uid, service, podIndex, graceSeconds, fenceArgument(fence))
            .thenApply((reply) -> reply[0] == 1);
    }

    @Override
    public boolean removeLinkedPodWithId(String namespace, String uid, String service, int podIndex,
            long graceSeconds) {
        requirePodIndex("podIndex", podIndex);
        return await(removeLink(namespace, uid, service, podIndex, graceSeconds, NOT_FENCED))[0] == 1;
    }

    /** {removed 0|1, pod linked before or -1}; expectedPod -1 removes whatever pod is linked. */
    private CompletableFuture<long[]> removeLink(String namespace, String uid, String service, int expectedPod,
            long graceSeconds, String fence) {
        String[] scriptKeys = linkKeys(namespace, uid, service);
        requireGraceSeconds("graceSeconds", graceSeconds);
        return call("removeLinkedPod", this.<List<Object>>writeEval(fence, LuaScript.REMOVE_LINK, ScriptOutputType.MULTI,
                scriptKeys, Long.toString(graceSeconds * 1000), Integer.toString(expectedPod),
                this.publishedChannel, this.keys.linkChange(namespace, uid, service), fence, tracked()),
                (reply) -> {
                    changedHere((Long) reply.get(0) == 1, namespace, uid, service);
                    return new long[] { (Long) reply.get(0), (Long) reply.get(1) };
                });
    }

    private static OptionalInt removedPod(long[] reply) {
        return (reply[0] == 1) ? OptionalInt.of((int) reply[1]) : OptionalInt.empty();
    }

    @Override
    public Map<String, Integer> getLinkService(String namespace, String uid) {
        return await(getLinkServiceAsync(namespace, uid));
    }

    /**
     * The services recorded in the user's namespace (see {@link #registered}), then every link
     * of the user among them in one atomic {@code MGET}: a user's links share one hash slot.
     */
    @Override
    public CompletableFuture<Map<String, Integer>> getLinkServiceAsync(String namespace, String uid) {
        requireId("namespace", namespace);
        requireId("uid", uid);
        CompletableFuture<Map<String, Integer>> links = this.redis.sortedSetMembers(this.keys.services(namespace))
            .thenCompose((services) -> {
                if (services.isEmpty()) {
                    return CompletableFuture.completedFuture(Map.of());
                }
                List<String> linkKeys = services.stream().map((service) -> this.keys.link(namespace, uid, service))
                    .toList();
                return this.redis.getAtomically(linkKeys).thenApply((values) -> {
                    Map<String, Integer> byService = new LinkedHashMap<>();
                    for (int i = 0; i < values.size(); i++) {
                        int pod = EntryFormat.linkPod(values.get(i), this.skipped, namespace);
                        if (pod >= 0) {
                            byService.put(services.get(i), pod);
                        }
                    }
                    return byService;
                });
            });
        return call("getLinkService", links, (byService) -> byService);
    }

    // ---- link change notices

    @Override
    public AutoCloseable subscribeLinkChanges(LinkChangeListener listener) {
        return this.notices.follow(requireNonNull("listener", listener));
    }

    @Override
    public CompletableFuture<Void> publishLinkProbeAsync(String token) {
        requireId("token", token);
        return call("publishLinkProbe", this.notices.probe(token), (ok) -> null);
    }

    /**
     * A link write of this executor answered: when it may have moved, removed or shortened the
     * link, this executor's own followers hear of it as they would on the channel, which carries
     * every change to every follower. By tracking Redis sends a client no invalidation of its own
     * writes (NOLOOP: otherwise each new user it linked would drop itself from the cache), yet a
     * process whose pod moves a user must not keep routing the user by its gateway's cached link.
     * Said of more writes than the scripts publish (a reply does not tell a shortening from a
     * lengthening): a follower then re-reads a link once more, as after any invalidation.
     */
    private void changedHere(boolean mayHaveChanged, String namespace, String uid, String service) {
        if (mayHaveChanged) {
            this.notices.changedHere(namespace, uid, service);
        }
    }

    /** Whether link scripts run tracked for this client: the last argument of each, which then leaves the key tracked. */
    private String tracked() {
        return (this.notices.tracking() != null) ? "1" : "0";
    }

    /**
     * A script on one user's links: tracked for this client when link notices come by
     * tracking. A slot that moved away from the node the tracking connection sent it to (the
     * node refused it unexecuted) is served by the cluster-aware connection instead, untracked;
     * followers then distrust their caches until a probe comes back.
     */
    private <T> CompletableFuture<T> linkEval(LuaScript script, ScriptOutputType type, String[] keys, String... args) {
        LinkConnection tracking = this.notices.tracking();
        if (tracking == null) {
            return this.redis.eval(script, type, keys, args);
        }
        if (!tracking.isClustered()) {
            return tracking.eval(script, type, keys, args);
        }
        return tracking.<T>eval(script, type, keys, args).exceptionallyCompose((ex) -> LinkConnection.isRedirect(ex)
                ? this.redis.eval(script, type, keys, args) : CompletableFuture.failedFuture(ex));
    }

    /**
     * A link script that may write: a fenced one (a pod's write, a gateway's relink) goes to the
     * acknowledged connection when replicas must confirm it, and fails there rather than run
     * unconfirmed elsewhere (a slot that moved is refused unexecuted, so it may be retried).
     */
    private <T> CompletableFuture<T> writeEval(String fence, LuaScript script, ScriptOutputType type, String[] keys,
            String... args) {
        if (this.acknowledged == null || fence.isEmpty()) {
            return linkEval(script, type, keys, args);
        }
        return this.acknowledged.eval(script, type, keys, args);
    }

    /**
     * The call, which also records its service in the namespace's registry, so that
     * {@link #getLinkServiceAsync} knows which of a user's link keys to read. Heartbeats and
     * link writes record; each executor again only after a quarter of the retention, so the
     * registry costs a new user one map look-up. A failed record fails the call (it is
     * retried by the next one).
     */
    private <T> CompletableFuture<T> registered(String namespace, String service, CompletableFuture<T> call) {
        Map<String, Long> services = this.recordedUntil.get(namespace);
        if (services == null) {
            services = this.recordedUntil.computeIfAbsent(namespace, (ns) -> new ConcurrentHashMap<>());
        }
        long now = System.nanoTime();
        Long until = services.get(service);
        if (until != null && until - now > 0) {
            return call;
        }
        if (services.size() >= MAX_RECORDED_SERVICES) {
            services.clear();
        }
        Long marked = now + this.recordAgainNanos;
        services.put(service, marked);
        Map<String, Long> recorded = services;
        CompletableFuture<Long> record = this.redis.eval(LuaScript.REGISTER_SERVICE, ScriptOutputType.INTEGER,
                new String[] { this.keys.services(namespace) }, service, this.podStateRetentionMillis);
        return call.thenCombine(record.whenComplete((at, ex) -> {
            if (ex != null) {
                recorded.remove(service, marked);
            }
        }), (value, recordedAt) -> value);
    }

    /** The fence argument of a write that carries none. */
    private static final String NOT_FENCED = "";

    private static String fenceArgument(WriteFence fence) {
        return requireNonNull("fence", fence).argument();
    }

    private String[] linkKeys(String namespace, String uid, String service) {
        requireId("namespace", namespace);
        requireId("uid", uid);
        requireId("service", service);
        return new String[] { this.keys.link(namespace, uid, service) };
    }

    private String ttlMillis(long persistSeconds) {
        return ttlArgument(persistSeconds).text();
    }

    /**
     * A script's TTL argument: the link's life in ms, -1 for a persistent link. The last one
     * is kept, as callers use one or two TTLs: a new user's call then builds no string for it.
     */
    private TtlArgument ttlArgument(long persistSeconds) {
        TtlArgument last = this.lastTtl;
        if (last != null && last.seconds() == persistSeconds) {
            return last;
        }
        requireTtlSeconds("persistSeconds", persistSeconds);
        long millis = (persistSeconds < 0) ? -1 : persistSeconds * 1000;
        TtlArgument made = new TtlArgument(persistSeconds, millis, Long.toString(millis));
        this.lastTtl = made;
        return made;
    }

    private record TtlArgument(long seconds, long millis, String text) {
    }

    /** A pod index as scripts take it; made once for the pods a StatefulSet usually has. */
    private static String podArgument(int podIndex) {
        return (podIndex >= 0 && podIndex < POD_ARGUMENTS.length) ? POD_ARGUMENTS[podIndex]
                : Integer.toString(podIndex);
    }

    private static OptionalInt toPod(Long pod) {
        return (pod < 0) ? OptionalInt.empty() : OptionalInt.of(pod.intValue());
    }

    /** Decodes link_if_absent.lua's reply: {pod} when it linked the pod now, {pod, remaining ms} otherwise. */
    private static LinkInfo toLinkIfAbsent(List<Object> reply, long remainingIfCreated) {
        int pod = ((Long) reply.get(0)).intValue();
        return (reply.size() == 1) ? new LinkInfo(pod, remainingIfCreated, true)
                : new LinkInfo(pod, (Long) reply.get(1), false);
    }

    private static LinkInfo toLinkInfo(List<Object> reply) {
        return new LinkInfo(((Long) reply.get(0)).intValue(), (Long) reply.get(2), ((Long) reply.get(1)) == 1);
    }

    @Override
    public CompletableFuture<String> redisIdentityAsync() {
        return call("redisIdentity", this.redis.evalOnEveryPrimary(LuaScript.SERVER_IDENTITY), (replies) -> {
            List<String> identities = new ArrayList<>(replies.size());
            for (List<Object> reply : replies) {
                identities.add(reply.get(0) + " " + reply.get(1) + " " + reply.get(2));
            }
            identities.sort(null);
            return String.join(", ", identities);
        });
    }

    // ---- futures, timeouts and errors

    @Override
    public <T> T await(CompletableFuture<T> future) {
        return awaitSince(future, System.nanoTime());
    }

    @Override
    public <T> T awaitSince(CompletableFuture<T> future, long startedNanos) {
        try {
            return future.get(this.timeoutNanos - (System.nanoTime() - startedNanos), TimeUnit.NANOSECONDS);
        }
        // the future is not cancelled: it completes by itself (its calls are timed), so
        // listeners still hear how the operation ended
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new RedisUnavailableException("Interrupted while waiting for Redis", ex);
        }
        catch (TimeoutException ex) {
            throw new RedisUnavailableException("Redis did not answer within " + this.timeoutMillis + " ms", ex);
        }
        catch (ExecutionException ex) {
            throw translate(ex, "Redis call");
        }
    }

    /**
     * Decodes a reply, translates failures, and reports the operation to the listener. The
     * reply is already bounded by the command timeout (see {@link LettuceRedisAccess}).
     */
    private <R, T> CompletableFuture<T> call(String operation, CompletableFuture<R> reply, Function<R, T> decode) {
        Object token = this.listener.started(operation);
        long started = System.nanoTime();
        return reply.handle((value, ex) -> {
            if (ex != null) {
                StatefulRouteException translated = translate(ex, operation);
                this.listener.finished(token, operation, System.nanoTime() - started, translated);
                throw translated;
            }
            this.listener.finished(token, operation, System.nanoTime() - started, null);
            return decode.apply(value);
        });
    }

    /** Maps client failures to the documented exceptions; already translated ones pass through. */
    static StatefulRouteException translate(Throwable failure, String operation) {
        Throwable cause = failure;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof StatefulRouteException translated) {
            return translated;
        }
        if (cause instanceof RedisCommandExecutionException rejected && rejected.getMessage() != null
                && rejected.getMessage().startsWith(FENCED)) {
            return fenced(operation, rejected.getMessage());
        }
        if (cause instanceof RedisCommandExecutionException rejected && rejected.getMessage() != null
                && rejected.getMessage().startsWith(TAKEN)) {
            return taken(operation, rejected.getMessage());
        }
        if (cause instanceof RedisCommandExecutionException rejected && !isTransient(rejected.getMessage())) {
            return new StatefulRouteException(operation + " was rejected by Redis: " + rejected.getMessage(), rejected);
        }
        if (cause instanceof TimeoutException || cause instanceof CancellationException
                || cause instanceof RedisException || cause instanceof IOException) {
            String reason = (cause.getMessage() != null) ? cause.getMessage() : cause.getClass().getSimpleName();
            return new RedisUnavailableException(operation + " failed, Redis is unavailable: " + reason, cause);
        }
        return new StatefulRouteException(operation + " failed: " + cause, cause);
    }

    /** How a script refuses a write whose fence has passed: {@code FENCED <Redis' clock> <fence>}. */
    private static final String FENCED = "FENCED ";

    private static FencedWriteException fenced(String operation, String reply) {
        String[] fields = reply.split(" ");
        long now = Long.parseLong(fields[1]);
        long fence = Long.parseLong(fields[2]);
        return new FencedWriteException(operation + " reached Redis at " + now + " ms on its clock, at or after its fence "
                + fence + " ms: refused, nothing was written", now, fence);
    }

    /** How a script refuses a write that would undo a later one: {@code TAKEN <pod> <given at> <decided at>}. */
    private static final String TAKEN = "TAKEN ";

    private static UserTakenException taken(String operation, String reply) {
        String[] fields = reply.split(" ");
        int pod = Integer.parseInt(fields[1]);
        long given = Long.parseLong(fields[2]);
        long decided = Long.parseLong(fields[3]);
        return new UserTakenException(operation + " was decided at " + decided + " ms (Redis' clock), and pod " + pod
                + " was given the user at " + given + " ms: refused, nothing was written", pod, given, decided);
    }

    /** Errors a Redis server answers while it cannot serve for a moment (loading, failover, cluster down). */
    private static boolean isTransient(String message) {
        return message != null && (message.startsWith("LOADING") || message.startsWith("CLUSTERDOWN")
                || message.startsWith("TRYAGAIN") || message.startsWith("MASTERDOWN") || message.startsWith("BUSY")
                || message.startsWith("READONLY"));
    }

    @Override
    public void close() {
        if (this.reopener != null) {
            this.reopener.close();
        }
        if (this.trackingConnection != null) {
            this.trackingConnection.close();
        }
        if (this.acknowledged != null) {
            this.acknowledged.close();
        }
        this.redis.close();
    }

    /**
     * Builds a {@link RedisStatefulExecutor}. Give it a Lettuce connection with a String
     * codec; from Spring Data Redis use {@link SpringDataRedisConnections#open}.
     */
    public static final class Builder {

        private Supplier<? extends StatefulConnection<String, String>> connector;

        private boolean ownsConnection;

        /** Whether the connector opens a new connection each time, so a dropped one can be replaced. */
        private boolean reopenable;

        private Supplier<StatefulRedisPubSubConnection<String, String>> pubSubConnections;

        private String keyPrefix = "sr";

        private Duration commandTimeout = Duration.ofSeconds(2);

        private Duration podStateRetention = Duration.ofHours(1);

        private RedisCallListener listener = RedisCallListener.NOOP;

        private Function<Runnable, AutoCloseable> primarySwitches;

        private Supplier<? extends StatefulConnection<String, String>> trackingConnection;

        /** Whether notices come on the channel once a server cannot track (tracking where supported). */
        private boolean trackingWhereSupported;

        private boolean publishChanges = true;

        private int replicaAcks;

        private Duration replicaAckTimeout;

        private Supplier<? extends StatefulConnection<String, String>> acknowledgedConnection;

        private Builder() {
        }

        /** Receives every Redis operation's duration and outcome (metrics, tracing). */
        public Builder callListener(RedisCallListener listener) {
            this.listener = requireNonNull("listener", listener);
            return this;
        }

        /**
         * Uses a connection the caller keeps and closes (standalone, Sentinel or cluster). Its
         * timeout is left as it is: when its {@code TimeoutOptions} do not expire commands
         * within the command timeout, the executor expires them on the client's timer.
         */
        public Builder connection(StatefulConnection<String, String> connection) {
            requireNonNull("connection", connection);
            this.connector = () -> connection;
            this.ownsConnection = false;
            this.reopenable = false;
            return this;
        }

        /**
         * Uses a connection that {@link RedisStatefulExecutor#close()} closes; its timeout is
         * lowered to the command timeout, so Lettuce expires every command in time (on a cluster,
         * whose nodes keep the client's timeout, the executor expires commands itself).
         */
        public Builder ownedConnection(StatefulConnection<String, String> connection) {
            requireNonNull("connection", connection);
            this.connector = () -> connection;
            this.ownsConnection = true;
            this.reopenable = false;
            return this;
        }

        /**
         * Opens the connection through {@code connector} and closes it on
         * {@link RedisStatefulExecutor#close()}. If Redis is down at start, calls fail with
         * {@link RedisUnavailableException} and the connector is tried again in the
         * background, so the application can start before Redis. A connection that drops later
         * (and the pub/sub and tracking connections) is opened anew through it as soon as Redis
         * takes connections, checked every 250 ms, whatever the client's reconnect backoff. The
         * connection's timeout is lowered to the command timeout, so Lettuce expires every command
         * in time (on a cluster, whose nodes keep the client's timeout, the executor expires
         * commands itself).
         */
        public Builder connector(Supplier<? extends StatefulConnection<String, String>> connector) {
            this.connector = requireNonNull("connector", connector);
            this.ownsConnection = true;
            this.reopenable = true;
            return this;
        }

        /**
         * Opens the dedicated pub/sub connection that link change notices arrive on (one per
         * subscription, closed with it). Without it, caches rely on their TTL alone.
         */
        public Builder pubSubConnections(Supplier<StatefulRedisPubSubConnection<String, String>> pubSubConnections) {
            this.pubSubConnections = pubSubConnections;
            return this;
        }

        /**
         * Opens a dedicated RESP3 connection (standalone, Sentinel or cluster) on which link
         * scripts run with Redis client tracking on: link change notices then arrive only for
         * the users this executor read, as invalidations pushed by the server that holds them,
         * instead of every change on the shared channel. Scripts still publish on the channel,
         * for clients that follow it. Closed by {@link RedisStatefulExecutor#close()}.
         */
        public Builder trackingConnection(Supplier<? extends StatefulConnection<String, String>> trackingConnection) {
            this.trackingConnection = trackingConnection;
            this.trackingWhereSupported = false;
            return this;
        }

        /**
         * {@link #trackingConnection} where the server supports it, the channel where it does
         * not: when a server the connection reaches cannot track it (it, or a proxy before it,
         * refuses {@code HELLO 3} or {@code CLIENT TRACKING}, or the client is set to RESP2),
         * at connect or after a reconnect to another server, notices come on the channel for the
         * rest of this executor's life. Followers are then told at once that notices may have
         * been missed, as after a resubscription. The choice and its reason are logged once. The
         * fallback needs {@link #pubSubConnections} and the channel to carry changes
         * ({@link #publishChanges}, on by default); with changes not published, the executor
         * keeps to tracking and its followers distrust their caches while it does not work.
         */
        public Builder trackingWhereSupported(
                Supplier<? extends StatefulConnection<String, String>> trackingConnection) {
            this.trackingConnection = requireNonNull("trackingConnection", trackingConnection);
            this.trackingWhereSupported = true;
            return this;
        }

        /**
         * Whether link scripts publish every change on the channel, for clients that follow it
         * (on by default). Switch it off once every client's notices come by tracking: on a
         * cluster the channel is relayed to every node even when nobody follows it.
         */
        public Builder publishChanges(boolean publishChanges) {
            this.publishChanges = publishChanges;
            return this;
        }

        /**
         * Follows moves of the primary, for a connection opened through a {@link #connector}
         * on Redis Sentinel: {@code follow} is called once with what to run on each move and
         * returns what stops following ({@link RedisStatefulExecutor#close()} does). On a move
         * the executor connects again at once (its command connection and, with
         * {@link #trackingConnection}, its tracking connection), so it finds the new primary instead of writing
         * to the old one until Sentinel reconfigures it (writes that are then lost). From
         * Spring Data Redis use {@link SpringDataRedisConnections#followPrimarySwitches}.
         */
        public Builder primarySwitches(Function<Runnable, AutoCloseable> follow) {
            this.primarySwitches = follow;
            return this;
        }

        /**
         * Asks {@code replicas} replicas to confirm every fenced write (a pod's, a gateway's
         * relink) within {@code timeout}, so that a write a pod was told succeeded survives a
         * failover to one of them: each such write runs on a dedicated connection (standalone,
         * Sentinel or cluster; tracked too when {@link #trackingConnection} is set) together with
         * {@code WAIT}, which blocks that connection, and nobody else's, while it waits. A write
         * fewer replicas confirmed in time fails with
         * {@link io.statefulroute.core.ReplicaAcknowledgementException} (it was applied on the
         * primary). The timeout must be shorter than the command timeout. 0 replicas (the
         * default) asks for none.
         */
        public Builder replicaAcks(int replicas, Duration timeout,
                Supplier<? extends StatefulConnection<String, String>> connections) {
            if (replicas < 0) {
                throw new InvalidRouteArgumentException("replicaAcks", replicas + " must be >= 0");
            }
            this.replicaAcks = replicas;
            this.replicaAckTimeout = timeout;
            this.acknowledgedConnection = connections;
            return this;
        }

        /** First segment of every key; lets several applications share one Redis. */
        public Builder keyPrefix(String keyPrefix) {
            this.keyPrefix = keyPrefix;
            return this;
        }

        /** Longest a blocking call waits, and after which a future fails. */
        public Builder commandTimeout(Duration commandTimeout) {
            this.commandTimeout = commandTimeout;
            return this;
        }

        /** How long the entry of a pod that stopped heartbeating stays in Redis before it is dropped. */
        public Builder podStateRetention(Duration podStateRetention) {
            this.podStateRetention = podStateRetention;
            return this;
        }

        public RedisStatefulExecutor build() {
            requireNonNull("connection", this.connector);
            requirePositive("commandTimeout", this.commandTimeout);
            requirePositive("podStateRetention", this.podStateRetention);
            LinkConnection acknowledged = null;
            if (this.replicaAcks > 0) {
                requireNonNull("replicaAcks connections", this.acknowledgedConnection);
                requirePositive("replicaAcks timeout", this.replicaAckTimeout);
                if (this.replicaAckTimeout.compareTo(this.commandTimeout) >= 0) {
                    throw new InvalidRouteArgumentException("replicaAcks timeout",
                            this.replicaAckTimeout + " must be shorter than the command timeout " + this.commandTimeout);
                }
            }
            if (this.trackingWhereSupported && this.pubSubConnections == null) {
                throw new InvalidRouteArgumentException("trackingWhereSupported",
                        "needs pubSubConnections: notices come on the channel where a server cannot track");
            }
            LinkConnection tracking = (this.trackingConnection != null)
                    ? new LinkConnection(this.trackingConnection, this.commandTimeout, true, 0, Duration.ZERO) : null;
            if (this.replicaAcks > 0) {
                acknowledged = new LinkConnection(this.acknowledgedConnection, this.commandTimeout, tracking != null,
                        this.replicaAcks, this.replicaAckTimeout);
            }
            Reopener reopener = this.reopenable ? new Reopener() : null;
            // the dedicated connections, which link scripts run on, follow the primary too
            List<LinkConnection> dedicated = Stream.of(tracking, acknowledged).filter(Objects::nonNull).toList();
            if (reopener != null) {
                dedicated.forEach((connection) -> reopener.watch(connection.reopening()));
            }
            Function<Runnable, AutoCloseable> switches = (this.primarySwitches == null || dedicated.isEmpty())
                    ? this.primarySwitches : (onSwitch) -> this.primarySwitches.apply(() -> {
                        onSwitch.run();
                        dedicated.forEach(LinkConnection::primaryMoved);
                    });
            return new RedisStatefulExecutor(new LettuceRedisAccess(this.connector, this.ownsConnection,
                    this.pubSubConnections, this.commandTimeout, switches, reopener), tracking,
                    this.trackingWhereSupported, acknowledged, this.publishChanges, this.keyPrefix, this.commandTimeout, this.podStateRetention, this.listener,
                    reopener);
        }

        private static void requirePositive(String argument, Duration duration) {
            if (duration == null || duration.isNegative() || duration.isZero()) {
                throw new InvalidRouteArgumentException(argument, "must be a positive duration");
            }
        }
    }
}
