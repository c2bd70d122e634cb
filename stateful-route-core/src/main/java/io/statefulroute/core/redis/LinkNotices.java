package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.lettuce.core.RedisException;
import io.statefulroute.core.link.LinkChangeListener;

/**
 * How link change notices reach an executor's followers: on the channel every change is
 * published on, or by client tracking (an invalidation of each link this client read, pushed by
 * the server that holds it, to this client only).
 *
 * <p><b>Tracking where supported</b> (the choice made at connect): notices come by tracking
 * while every server the tracking connection reaches tracks it. Once one cannot (it speaks RESP2
 * only, or refuses {@code CLIENT TRACKING}: at connect, or after a reconnect to another server)
 * they come on the channel for the rest of this executor's life: followers are told at once that
 * notices may have been missed (gateways distrust their caches until a probe comes back on the
 * channel, pods check their users), then subscribe to it. That needs the channel to carry
 * changes ({@code publishChanges}); without it the executor keeps to tracking, whose probes then
 * never come back, so gateways keep re-reading their cached links. The choice is logged once.
 */
final class LinkNotices implements LinkConnection.Listener {

    private static final Logger logger = LoggerFactory.getLogger(LinkNotices.class);

    /** Probes share the change channel; a space can never start an encoded namespace. */
    private static final String PROBE_PREFIX = " probe ";

    /** How long a tracking probe's key lives: longer than any check period, gone soon after. */
    private static final long PROBE_KEY_MILLIS = 60_000;

    /** How soon a follower tries again to subscribe to the channel it failed to subscribe to. */
    private static final long RESUBSCRIBE_MILLIS = 1_000;

    private final RedisAccess redis;

    private final RouteKeys keys;

    private final SkippedEntries skipped;

    private final String channel;

    /** Whether a server that cannot track sends notices to the channel instead (tracking where supported). */
    private final boolean fallsBack;

    /** Whether link scripts publish changes on the channel: a fallback needs it. */
    private final boolean channelCarriesChanges;

    /** The other connection whose reads are tracked (replica-acknowledged writes); null when none. */
    private final LinkConnection acknowledged;

    /** Where link scripts run tracked; null while notices come on the channel. */
    private volatile LinkConnection tracking;

    /** Who follows notices; guarded by this object when notices change from tracking to the channel. */
    private final List<Follower> followers = new CopyOnWriteArrayList<>();

    /** Probe token to the probe keys (one per node) whose invalidation has not come back yet. */
    private final Cache<String, Set<String>> pendingProbes = Caffeine.newBuilder()
        .expireAfterWrite(Duration.ofMinutes(1))
        .build();

    /** Whether a server confirmed tracking once: the choice is logged then. */
    private volatile boolean trackingConfirmed;

    /** Whether the servers' refusal to track was logged since tracking last worked. */
    private volatile boolean refusalLogged;

    /**
     * @param tracking the connection link scripts run on tracked; null for notices on the channel
     * @param fallsBack whether a server that cannot track makes notices come on the channel
     * @param channelCarriesChanges whether link scripts publish changes on the channel
     * @param acknowledged the connection replica-acknowledged writes run on, or null
     */
    LinkNotices(RedisAccess redis, RouteKeys keys, SkippedEntries skipped, LinkConnection tracking, boolean fallsBack,
            boolean channelCarriesChanges, LinkConnection acknowledged) {
        this.redis = redis;
        this.keys = keys;
        this.skipped = skipped;
        this.channel = keys.linkChangesChannel();
        this.tracking = tracking;
        this.fallsBack = fallsBack;
        this.channelCarriesChanges = channelCarriesChanges;
        this.acknowledged = acknowledged;
    }

    /** The connection link scripts run on tracked, or null while notices come on the channel. */
    LinkConnection tracking() {
        return this.tracking;
    }

    /** Follows notices until the returned handle is closed. */
    AutoCloseable follow(LinkChangeListener listener) {
        Follower follower = new Follower(listener);
        boolean tracked;
        synchronized (this) {
            tracked = this.tracking != null;
            if (tracked) {
                this.followers.add(follower);
            }
        }
        if (tracked) {
            // as a fresh subscription: nothing read before is known to be tracked
            listener.subscribed();
        }
        else {
            follower.followChannel();
        }
        return follower::close;
    }

    /**
     * Sends a probe that comes back to every follower once notices reach it: by tracking, keys
     * read tracked (one per server) and then rewritten by another connection, whose
     * invalidations are the probe; on the channel, a message published on it.
     */
    CompletableFuture<Void> probe(String token) {
        LinkConnection current = this.tracking;
        if (current == null) {
            return this.redis.publish(this.channel, PROBE_PREFIX + token).thenApply((receivers) -> null);
        }
        List<String> probeKeys = current.probeKeys((index) -> this.keys.probe(token, index));
        Set<String> waiting = ConcurrentHashMap.newKeySet();
        waiting.addAll(probeKeys);
        this.pendingProbes.put(token, waiting);
        CompletableFuture<?>[] written = probeKeys.stream()
            .map((key) -> current.trackedGet(key).thenCompose((value) -> this.redis.setExpiring(key, "1", PROBE_KEY_MILLIS)))
            .toArray(CompletableFuture[]::new);
        return CompletableFuture.allOf(written);
    }

    /**
     * A write of this executor may have changed a user's link: while notices come by tracking,
     * which reports no client's own writes to it, its followers hear of it here (on the channel
     * they hear of it there).
     */
    void changedHere(String namespace, String uid, String service) {
        if (this.tracking != null) {
            this.followers.forEach((follower) -> follower.listener.linkChanged(namespace, uid, service));
        }
    }

    // ---- what the tracked connections report

    /** With tracking, a notice is the invalidation of one link's key; a probe is back once the probe keys of every node are. */
    @Override
    public void invalidated(String key) {
        if (this.tracking == null) {
            return;
        }
        String token = this.keys.parseProbe(key);
        if (token != null) {
            Set<String> waiting = this.pendingProbes.getIfPresent(token);
            if (waiting != null && waiting.remove(key) && waiting.isEmpty()) {
                this.pendingProbes.invalidate(token);
                this.followers.forEach((follower) -> follower.listener.probeReceived(token));
            }
            return;
        }
        String[] link = this.keys.parseLink(key);
        if (link != null) {
            this.followers.forEach((follower) -> follower.listener.linkChanged(link[0], link[1], link[2]));
        }
        else {
            this.skipped.skipped(SkippedEntries.Kind.MALFORMED_NOTICE, "tracking", key);
        }
    }

    @Override
    public void mayHaveMissed() {
        if (this.tracking != null) {
            this.followers.forEach((follower) -> follower.listener.subscribed());
        }
    }

    @Override
    public void tracking(String server) {
        this.refusalLogged = false;
        if (!this.trackingConfirmed && this.tracking != null) {
            this.trackingConfirmed = true;
            logger.info("Link change notices come by client tracking{}: {} tracks this client over RESP3, so a change "
                    + "reaches only the clients that read the user", this.fallsBack ? " (chosen at connect)" : "", server);
        }
    }

    @Override
    public void cannotTrack(String why) {
        LinkConnection was;
        List<Follower> moving;
        synchronized (this) {
            was = this.tracking;
            if (was == null) {
                return;
            }
            if (!this.fallsBack || !this.channelCarriesChanges) {
                refused(why);
                return;
            }
            this.tracking = null;
            moving = List.copyOf(this.followers);
            this.followers.clear();
        }
        if (this.trackingConfirmed) {
            logger.warn("Link change notices now come on the channel {}: {}. Cached links are re-read until a probe "
                    + "comes back on it; client tracking is tried again after a restart", this.channel, why);
        }
        else {
            logger.info("Link change notices come on the channel {} (chosen at connect): {}", this.channel, why);
        }
        was.stopTracking(true);
        if (this.acknowledged != null) {
            this.acknowledged.stopTracking(false);
        }
        if (moving.isEmpty()) {
            return;
        }
        // nothing read until now is known to be followed; subscribing blocks, so not on an I/O thread
        moving.forEach((follower) -> follower.listener.subscribed());
        CompletableFuture.runAsync(() -> moving.forEach(Follower::followChannelUntilSubscribed));
    }

    /** A server refused tracking and notices cannot move to the channel: logged once until tracking works again. */
    private void refused(String why) {
        if (this.refusalLogged) {
            logger.debug("Client tracking still refused: {}", why);
            return;
        }
        this.refusalLogged = true;
        logger.warn("Link change notices do not arrive: {}{}; cached links are re-read after the fallback TTL until "
                + "tracking works", why, this.fallsBack ? " and link changes are not published on the channel "
                        + this.channel + " (publish changes is off)" : "");
    }

    /** One follower: of invalidations while notices come by tracking, else of the channel. */
    private final class Follower {

        final LinkChangeListener listener;

        private AutoCloseable subscription;

        private boolean closed;

        Follower(LinkChangeListener listener) {
            this.listener = listener;
        }

        /** Subscribes to the channel; fails when Redis does not take the subscription. */
        synchronized void followChannel() {
            if (!this.closed && this.subscription == null) {
                this.subscription = redis.subscribe(channel, this::received, this.listener::subscribed);
            }
        }

        /** {@link #followChannel}, tried again a little later after each failure, until it works or this is closed. */
        void followChannelUntilSubscribed() {
            try {
                followChannel();
            }
            catch (RedisException ex) {
                logger.debug("Cannot subscribe to {} yet ({}); trying again", channel, ex.getMessage());
                CompletableFuture.runAsync(this::followChannelUntilSubscribed,
                        CompletableFuture.delayedExecutor(RESUBSCRIBE_MILLIS, TimeUnit.MILLISECONDS));
            }
        }

        private void received(String message) {
            if (message.startsWith(PROBE_PREFIX)) {
                this.listener.probeReceived(message.substring(PROBE_PREFIX.length()));
                return;
            }
            String[] change = RouteKeys.parseLinkChange(message);
            if (change != null) {
                this.listener.linkChanged(change[0], change[1], change[2]);
            }
            else {
                skipped.skipped(SkippedEntries.Kind.MALFORMED_NOTICE, channel, message);
            }
        }

        void close() throws Exception {
            followers.remove(this);
            AutoCloseable open;
            synchronized (this) {
                this.closed = true;
                open = this.subscription;
                this.subscription = null;
            }
            if (open != null) {
                open.close();
            }
        }
    }
}
