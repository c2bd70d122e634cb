package io.statefulroute.core.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.LostUsers;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisCallListener;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Redis is unreachable for everyone (pod and gateway behind one blocked proxy) for longer than
 * the lease: the pod's lease lapses and it owns nothing meanwhile, the gateway keeps routing
 * from its cache and moves nobody, and once Redis is back the pod renews its lease and confirms
 * every user: none is lost. With notices on the channel and by client tracking (the default
 * where Redis supports it), where every read that goes unanswered may mean lost notices: the
 * pod checks its users against Redis a bounded number of times during the outage, not once per
 * failed read of the previous check.
 */
class RedisOutageLeaseTest {

    private static final Duration POD_EXPIRY = Duration.ofMillis(1500);

    private static final Duration LEASE_MARGIN = Duration.ofMillis(300);

    private static final Duration RELINK_GRACE = Duration.ofMillis(600);

    private static final int USERS = 10;

    private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1);

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        this.scheduler.shutdownNow();
        // last opened, first closed: drivers and executors before the client and the proxy
        for (int i = this.closing.size() - 1; i >= 0; i--) {
            this.closing.get(i).close();
        }
    }

    /** How the pod's and the gateway's link change notices come. */
    enum Notices {
        CHANNEL, TRACKING
    }

    @ParameterizedTest
    @EnumSource(Notices.class)
    void aGlobalOutageLapsesTheLeaseButLosesNoUser(Notices notices) throws Exception {
        LoopbackProxy proxy = new LoopbackProxy(RedisServers.shared().port());
        RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", proxy.port()));
        this.closing.add(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
        this.closing.add(proxy);
        TestRedis direct = TestRedis.on(RedisServers.shared());
        this.closing.add(direct);
        String ns = TestRedis.freshNamespace();
        LongAdder podReads = new LongAdder();
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(executor(client, notices, podReads),
                new ServerOptions(new PodIdentity(ns, "chat", 0), 0, Duration.ZERO)
                    .withLease(POD_EXPIRY, LEASE_MARGIN, RELINK_GRACE));
        Set<String> lost = LostUsers.of(pod);
        pod.followLinkChanges();
        pod.start();
        this.closing.add(pod::stopAsync);
        StatefulExecutor gatewayExecutor = executor(client, notices, new LongAdder());
        StatefulRouteForClientDriver gateway = new StatefulRouteForClientDriver(gatewayExecutor,
                new RouteInfoDriver(new ServiceStateCache(gatewayExecutor, POD_EXPIRY, RELINK_GRACE),
                        PodSelectionStrategy.LOAD_AWARE.newSelector()),
                ClientOptions.defaults(ns));
        this.scheduler.scheduleAtFixedRate(() -> {
            pod.heartbeatAsync();
            gateway.routeInfo().states().refreshAsync();
        }, 150, 150, TimeUnit.MILLISECONDS);
        List<String> users = new ArrayList<>();
        for (int i = 0; i < USERS; i++) {
            users.add("player-" + i);
            assertThat(gateway.computeLinkedPod(ns, "player-" + i, "chat")).isZero();
            pod.setLinkedPod("player-" + i, RouteArguments.PERSIST_FOREVER);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> users.stream().allMatch(pod::owns));

        proxy.block();
        long blockedAt = System.nanoTime();
        long readsBefore = podReads.sum();
        await().atMost(Duration.ofSeconds(10)).until(() -> !pod.isLeaseLive());
        assertThat(users).noneMatch(pod::owns);
        long outageEnd = blockedAt + POD_EXPIRY.multipliedBy(2).toNanos();
        while (System.nanoTime() - outageEnd < 0) {
            for (String uid : users) {
                try {
                    assertThat(gateway.computeLinkedPod(ns, uid, "chat")).as("route of %s during the outage", uid)
                        .isZero();
                }
                catch (RedisUnavailableException ex) {
                    // a call that needs Redis fails; the cache answered the others
                }
            }
        }
        long outageReads = podReads.sum() - readsBefore;
        proxy.unblock();

        await().atMost(Duration.ofSeconds(15)).until(() -> pod.isLeaseLive()
                && pod.leaseStatus().unconfirmedUsers() == 0 && users.stream().allMatch(pod::owns));
        assertThat(lost).as("users lost to an outage nobody could move users in").isEmpty();
        // an outage of 10 command timeouts: a check of every user after the lapse, retries of
        // unsettled users, and one more for reads that went unanswered, but never one per failed read
        assertThat(outageReads).as("the pod's reads of its users' links during the outage").isLessThanOrEqualTo(40);
        assertThat(direct.executor().batchGetLinkedPod(ns, users, "chat")).containsOnlyKeys(0);
        for (String uid : users) {
            assertThat(gateway.computeLinkedPod(ns, uid, "chat")).isZero();
        }
        System.out.printf("global outage of %d ms, notices %s: %d lease lapse(s), %d batch reads of the pod's links "
                + "during it, 0 users lost, all %d re-owned%n", POD_EXPIRY.multipliedBy(2).toMillis(), notices,
                pod.leaseStatus().lapses(), outageReads, USERS);
    }

    /** An executor through the proxy; {@code batchReads} counts its batch reads of links. */
    private StatefulExecutor executor(RedisClient client, Notices notices, LongAdder batchReads) {
        RedisStatefulExecutor.Builder builder = RedisStatefulExecutor.builder()
            .ownedConnection(client.connect(StringCodec.UTF8))
            .pubSubConnections(() -> client.connectPubSub(StringCodec.UTF8))
            .keyPrefix("test")
            .commandTimeout(Duration.ofMillis(300))
            .callListener(new RedisCallListener() {
                @Override
                public Object started(String operation) {
                    if (operation.equals("batchGetLinkedPod")) {
                        batchReads.increment();
                    }
                    return null;
                }
            });
        if (notices == Notices.TRACKING) {
            builder.trackingConnection(() -> client.connect(StringCodec.UTF8));
        }
        RedisStatefulExecutor executor = builder.build();
        this.closing.add(executor);
        return executor;
    }
}
