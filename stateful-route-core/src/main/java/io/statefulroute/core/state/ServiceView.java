package io.statefulroute.core.state;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.statefulroute.core.redis.WriteFence;

/**
 * An immutable in-memory view of one service's pods, as last read from Redis, that judges
 * liveness at the moment it is asked: a pod is alive while its last heartbeat, on Redis'
 * clock, is younger than its pod expiry (the one it publishes, else this process's). Lookups
 * allocate nothing.
 */
public final class ServiceView {

    private final ServiceState state;

    /** The longest expiry and grace of this process and of any pod read, for pods whose entry is missing. */
    private final long longestExpiryMillis;

    private final long longestGraceMillis;

    /** Each pod's own expiry and grace, by index. */
    private final long[] expiryByIndex;

    private final long[] graceByIndex;

    private final AbsentPods absent;

    private final long loadedAtNanos;

    private final OutageClock clock;

    /** Pods by index; null where a pod never published. */
    private final PodState[] byIndex;

    /** READY pods alive when read; valid as routable set until {@link #readyValidUntilNanos}. */
    private final List<PodState> readyPods;

    private final long readyValidUntilNanos;

    private final RecentPlacements placements;

    /** The routable pods of the zone last asked for, kept while the routable pods are the same list. */
    private volatile ZonePods zonePods;

    private record ZonePods(String zone, List<PodState> routable, List<PodState> pods) {
    }

    /** Whether a READY pod declares a capacity: else new users need no check of it. */
    private final boolean capacityLimited;

    /** When the last warm-up of a READY pod ends, on {@link System#nanoTime()}; {@link #NO_WARM_UP} for none. */
    private final long warmUpEndsNanos;

    private static final long NO_WARM_UP = Long.MIN_VALUE;

    /**
     * @param podExpiryMillis this process's pod expiry, for pods that publish none
     * @param relinkGraceMillis this process's relink grace, for pods that publish none
     * @param placements the new users this process placed on the service's pods lately
     */
    ServiceView(ServiceState state, long podExpiryMillis, long relinkGraceMillis, OutageClock clock,
            AbsentPods absent, RecentPlacements placements) {
        this.state = state;
        this.clock = clock;
        this.absent = absent;
        this.placements = placements;
        this.loadedAtNanos = System.nanoTime();
        int size = state.pods().isEmpty() ? 0 : state.pods().get(state.pods().size() - 1).podIndex() + 1;
        this.byIndex = new PodState[size];
        this.expiryByIndex = new long[size];
        this.graceByIndex = new long[size];
        long longestExpiry = podExpiryMillis;
        long longestGrace = relinkGraceMillis;
        for (PodState pod : state.pods()) {
            this.byIndex[pod.podIndex()] = pod;
            LeaseTerms terms = pod.leaseTerms();
            this.expiryByIndex[pod.podIndex()] = (terms != null) ? terms.podExpiry().toMillis() : podExpiryMillis;
            this.graceByIndex[pod.podIndex()] = (terms != null) ? terms.relinkGrace().toMillis() : relinkGraceMillis;
            longestExpiry = Math.max(longestExpiry, this.expiryByIndex[pod.podIndex()]);
            longestGrace = Math.max(longestGrace, this.graceByIndex[pod.podIndex()]);
        }
        this.longestExpiryMillis = longestExpiry;
        this.longestGraceMillis = longestGrace;
        List<PodState> ready = new ArrayList<>();
        long earliestExpiry = Long.MAX_VALUE;
        boolean limited = false;
        long lastWarmUpEnd = Long.MIN_VALUE;
        for (PodState pod : state.pods()) {
            long expiresAt = expiresAt(pod);
            if (pod.routingState().acceptsNewLinks() && expiresAt > state.readTimeMillis()) {
                ready.add(pod);
                earliestExpiry = Math.min(earliestExpiry, expiresAt);
                limited |= pod.capacity().isLimited();
                lastWarmUpEnd = Math.max(lastWarmUpEnd, pod.warmUpEndsMillis());
            }
        }
        this.capacityLimited = limited;
        this.warmUpEndsNanos = (lastWarmUpEnd > state.readTimeMillis())
                ? this.loadedAtNanos + (lastWarmUpEnd - state.readTimeMillis()) * 1_000_000 : NO_WARM_UP;
        this.readyPods = List.copyOf(ready);
        this.readyValidUntilNanos = (earliestExpiry == Long.MAX_VALUE) ? Long.MAX_VALUE
                : this.loadedAtNanos + (earliestExpiry - state.readTimeMillis()) * 1_000_000;
    }

    public String namespace() {
        return this.state.namespace();
    }

    public String service() {
        return this.state.service();
    }

    /** The states as read from Redis. */
    public ServiceState state() {
        return this.state;
    }

    /**
     * Redis' clock now, estimated from the time of reading and the local monotonic clock;
     * while Redis is unreachable, Redis' last answer before the outage.
     */
    public long serverNowMillis() {
        return serverMillisAt(System.nanoTime());
    }

    private long serverMillisAt(long nowNanos) {
        return this.state.readTimeMillis() + Math.max(0, this.clock.at(nowNanos) - this.loadedAtNanos) / 1_000_000;
    }

    /** How long ago this view was read from Redis, in millis. */
    public long ageMillis() {
        return (System.nanoTime() - this.loadedAtNanos) / 1_000_000;
    }

    /** The pod's state, or null if it never published or its entry was dropped. */
    public PodState pod(int podIndex) {
        return (podIndex >= 0 && podIndex < this.byIndex.length) ? this.byIndex[podIndex] : null;
    }

    /** Whether the pod published a heartbeat within the pod state expiry. */
    public boolean isAlive(int podIndex) {
        PodState pod = pod(podIndex);
        return pod != null && isAlive(pod, serverNowMillis());
    }

    /** Whether the pod is alive and serves its linked users (READY or DENY_NEW_CALL). */
    public boolean isAvailable(int podIndex) {
        PodState pod = pod(podIndex);
        return pod != null && pod.routingState().servesLinkedUsers() && isAlive(pod, serverNowMillis());
    }

    /**
     * {@link #isAvailable} at a moment the caller already read from {@link System#nanoTime()},
     * sparing the hot path a second clock read.
     */
    public boolean isAvailableAt(int podIndex, long nowNanos) {
        PodState pod = pod(podIndex);
        return pod != null && pod.routingState().servesLinkedUsers() && isAlive(pod, serverMillisAt(nowNanos));
    }

    /** Whether the pod is alive and takes new users (READY). */
    public boolean isRoutable(int podIndex) {
        PodState pod = pod(podIndex);
        return pod != null && pod.routingState().acceptsNewLinks() && isAlive(pod, serverNowMillis());
    }

    /**
     * Whether a user linked to the pod may be moved elsewhere: the pod published that it serves
     * nobody ({@code SHUTDOWN}, which a pod publishes only once none of its writes can still
     * land), or has been silent for longer than its pod expiry plus its relink grace, judged on
     * a view read no longer ago than half the grace. Silent means: no heartbeat since the last
     * one read, or, for a pod whose entry is missing or unreadable, since the last one this
     * process saw or the first read that missed it, with the longest expiry and grace known:
     * a missing entry is no proof that the pod is gone (a failover may have lost it). Such a
     * view was read when the pod's lease had already lapsed, and a pod that heartbeats again
     * re-checks its users only after the grace, so the pod always learns it lost a user it did
     * not see moving. False on an older view: re-read it first.
     */
    public boolean mayRelinkFrom(int podIndex) {
        PodState pod = pod(podIndex);
        if (pod != null && !pod.routingState().servesLinkedUsers()) {
            return true;
        }
        if (isTooOldToRelink(podIndex)) {
            return false;
        }
        if (pod != null) {
            return serverNowMillis() >= expiresAt(pod) + this.graceByIndex[podIndex];
        }
        Long unreadable = this.state.unreadablePods().get(podIndex);
        long silentSince = (unreadable != null) ? unreadable
                : this.absent.silentSince(podIndex, this.state.readTimeMillis());
        return serverNowMillis() >= expiresAt(silentSince, this.longestExpiryMillis) + this.longestGraceMillis;
    }

    /**
     * Whether this view is too old to decide a relink from the pod on (see {@link #mayRelinkFrom}):
     * read longer ago than half the pod's relink grace, so that a relink has at least the other
     * half to land before its {@linkplain #relinkFence fence}.
     */
    public boolean isTooOldToRelink(int podIndex) {
        return ageMillis() * 2 > relinkGrace(podIndex);
    }

    /**
     * The fence of a relink decided on this view: the time it was read (Redis' clock) plus the
     * pod's relink grace. A pod whose lease began after this read confirms its users only a
     * relink grace plus its lease margin after that, so a relink that could still land after
     * the pod checked its users is refused instead.
     */
    public WriteFence relinkFence(int podIndex) {
        return new WriteFence(this.state.readTimeMillis() + relinkGrace(podIndex));
    }

    private long relinkGrace(int podIndex) {
        return (pod(podIndex) != null) ? this.graceByIndex[podIndex] : this.longestGraceMillis;
    }

    /** Pods that are alive and READY, ordered by pod index. */
    public List<PodState> routablePods() {
        if (this.clock.at(System.nanoTime()) - this.readyValidUntilNanos < 0) {
            return this.readyPods;
        }
        long now = serverNowMillis();
        List<PodState> routable = new ArrayList<>(this.readyPods.size());
        for (PodState pod : this.readyPods) {
            if (isAlive(pod, now)) {
                routable.add(pod);
            }
        }
        return routable;
    }

    /**
     * Whether a routable pod declares a capacity, so that a new user's pod must be one with
     * room ({@link #hasRoom}); if not, every routable pod takes new users.
     */
    public boolean hasCapacityLimits() {
        return this.capacityLimited;
    }

    /**
     * Whether a routable pod may still be warming up ({@link #warmUpWeight}); if not, every
     * routable pod takes its full share of new users. Reads the clock only while one may be.
     */
    public boolean isWarmingUp() {
        return this.warmUpEndsNanos != NO_WARM_UP && System.nanoTime() - this.warmUpEndsNanos < 0;
    }

    /**
     * The share of new users the pod takes at {@code serverNowMillis} (Redis' clock, e.g.
     * {@link #serverNowMillis()}) by the warm-up it publishes: 1 once it is over or without one.
     */
    public double warmUpWeight(PodState pod, long serverNowMillis) {
        return (pod.routableSinceMillis() < 0) ? 1 : pod.warmUp().weight(serverNowMillis - pod.routableSinceMillis());
    }

    /**
     * Whether the pod takes a new user by the capacity it declares: its load score is below its
     * load ceiling and it holds fewer users than its user capacity, by {@link #estimatedUsers}.
     * Allocates nothing.
     */
    public boolean hasRoom(PodState pod) {
        PodCapacity capacity = pod.capacity();
        return pod.loadScore() < capacity.maxLoad()
                && (!capacity.limitsUsers() || estimatedUsers(pod) < capacity.maxUsers());
    }

    /**
     * The users the pod holds as this process can tell: the count it published, plus the new
     * users this process linked to it since that count was published ({@link #placed}); -1 when
     * the pod publishes no count. Other gateways' new users since then are not in it: racing
     * gateways may together fill a pod past its capacity (see the routing guide).
     */
    public int estimatedUsers(PodState pod) {
        if (pod.users() < 0) {
            return -1;
        }
        long publishedAtNanos = this.loadedAtNanos + (pod.updateTimeMillis() - this.state.readTimeMillis()) * 1_000_000;
        return pod.users() + this.placements.since(pod.podIndex(), publishedAtNanos);
    }

    /**
     * Counts a new user this process just linked to the pod, for {@link #estimatedUsers} until
     * the pod's own count includes it. Only pods that declare a user capacity are counted.
     */
    public void placed(int podIndex) {
        PodState pod = pod(podIndex);
        if (pod != null && pod.capacity().limitsUsers()) {
            this.placements.placed(podIndex, System.nanoTime());
        }
    }

    /** The placements counted for the service, which its next view goes on counting. */
    RecentPlacements placements() {
        return this.placements;
    }

    /**
     * The routable pods that advertise the zone ({@link PodState#zone()}), ordered by pod index.
     * The same list on every call for the same zone while {@link #routablePods()} is, so that a
     * gateway's new users allocate nothing for their zone.
     */
    public List<PodState> routablePodsIn(String zone) {
        List<PodState> routable = routablePods();
        ZonePods last = this.zonePods;
        if (last != null && last.routable() == routable && last.zone().equals(zone)) {
            return last.pods();
        }
        List<PodState> pods = routable.stream().filter((pod) -> zone.equals(pod.zone())).toList();
        this.zonePods = new ZonePods(zone, routable, pods);
        return pods;
    }

    /** Whether some pod is alive and serves its linked users: if none, no link can be honoured. */
    public boolean hasAvailablePod() {
        long now = serverNowMillis();
        for (PodState pod : this.state.pods()) {
            if (pod.routingState().servesLinkedUsers() && isAlive(pod, now)) {
                return true;
            }
        }
        return false;
    }

    /** Pods that are alive, whatever their routing state, ordered by pod index. */
    public List<PodState> alivePods() {
        long now = serverNowMillis();
        return this.state.pods().stream().filter((pod) -> isAlive(pod, now)).toList();
    }

    /** Every pod entry still in Redis, alive or not, ordered by pod index. */
    public List<PodState> pods() {
        return this.state.pods();
    }

    private boolean isAlive(PodState pod, long serverNow) {
        return serverNow < expiresAt(pod);
    }

    private long expiresAt(PodState pod) {
        return expiresAt(pod.updateTimeMillis(), this.expiryByIndex[pod.podIndex()]);
    }

    /**
     * When the pod dies unless it heartbeats again, on Redis' clock. The time Redis was last
     * unreachable does not count against a heartbeat from before that outage ended (read at
     * each call: a view read before the outage must not declare every pod dead once it ends).
     */
    private long expiresAt(long updateTimeMillis, long expiryMillis) {
        long expiresAt = updateTimeMillis + expiryMillis;
        OutageClock.Outage outage = this.clock.lastOutage();
        if (outage.lengthMillis() > 0) {
            long outageEnd = this.state.readTimeMillis() + (outage.endedAtNanos() - this.loadedAtNanos) / 1_000_000;
            if (updateTimeMillis < outageEnd) {
                expiresAt += outage.lengthMillis();
            }
        }
        return expiresAt;
    }

    @Override
    public String toString() {
        return "ServiceView" + Arrays.toString(this.byIndex);
    }
}
