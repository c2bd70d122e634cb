package io.statefulroute.core.link;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.statefulroute.core.LostUsers;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.TrackingClients;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Link notices by client tracking where the server supports it, on the channel where it does
 * not, chosen at connect and logged once: a server that refuses {@code CLIENT TRACKING} (an ACL
 * here, as a proxy or a managed offering would), one that speaks RESP2 only ({@code HELLO}
 * renamed away, as before Redis 6 or behind an old proxy), a client set to RESP2. And when a
 * reconnect lands on a server that cannot track, a gateway distrusts its cache at once and
 * trusts it again only once a probe comes back on the channel.
 */
class TrackingWhereSupportedTest {

    private static final long FOREVER = RouteArguments.PERSIST_FOREVER;

    private static final String USER = "gateway";

    private static final String PASSWORD = "pw-" + System.nanoTime();

    private static final String CHANNEL = "test:link-changes";

    private final List<AutoCloseable> closing = new ArrayList<>();

    private final String ns = TestRedis.freshNamespace();

    private final Logger noticesLog = (Logger) LoggerFactory.getLogger("io.statefulroute.core.redis.LinkNotices");

    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

    @BeforeEach
    void captureTheChoice() {
        this.logged.start();
        this.noticesLog.addAppender(this.logged);
    }

    @AfterEach
    void close() throws Exception {
        this.noticesLog.detachAppender(this.logged);
        for (int i = this.closing.size() - 1; i >= 0; i--) {
            this.closing.get(i).close();
        }
    }

    @Test
    void whereTheServerTracksNoticesReachOnlyTheGatewayThatReadTheUser() {
        RedisServer server = server();
        TestRedis redis = redis(TestRedis.on(server));
        StatefulExecutor writer = redis.executor();
        StatefulRouteForClientDriver reader = gateway(redis.trackingWhereSupportedExecutor(true));
        StatefulRouteForClientDriver other = gateway(redis.trackingWhereSupportedExecutor(true));
        podsOf(writer);
        writer.setLinkedPod(this.ns, "alice", "chat", 1, FOREVER);
        assertThat(reader.computeLinkedPod(this.ns, "alice", "chat")).isEqualTo(1);

        writer.setLinkedPod(this.ns, "alice", "chat", 2, FOREVER);

        await().atMost(Duration.ofSeconds(5)).until(() -> reader.noticeStats().evicted() == 1);
        assertThat(reader.computeLinkedPod(this.ns, "alice", "chat")).isEqualTo(2);
        assertThat(other.noticeStats().received()).isZero();
        assertThat(subscribers(redis.sync())).isZero();
        assertThat(infos()).hasSize(2).allSatisfy((line) -> assertThat(line)
            .startsWith("Link change notices come by client tracking (chosen at connect): Redis " + server.version()
                    + " tracks this client over RESP3"));
    }

    /** An ACL that denies {@code client|tracking}, as some proxies and managed offerings do. */
    @Test
    void whereTheServerRefusesClientTrackingNoticesComeOnTheChannel() {
        RedisServer server = server();
        RedisCommands<String, String> admin = redis(TestRedis.on(server)).sync();
        aclUser(admin, "+@all", "-client|tracking");
        noticesComeOnTheChannel(server, redis(TestRedis.as(server, USER, PASSWORD)),
                "the server refused CLIENT TRACKING (NOPERM");
    }

    @Test
    void whereTheServerSpeaksOnlyResp2NoticesComeOnTheChannel() {
        RedisServer server = server("--rename-command", "HELLO", "");
        noticesComeOnTheChannel(server, redis(TestRedis.on(server)),
                "the server (or a proxy before it) refused HELLO 3, so the connection speaks RESP2");
    }

    @Test
    void whereTheClientSpeaksResp2NoticesComeOnTheChannel() {
        RedisServer server = server();
        noticesComeOnTheChannel(server, redis(TestRedis.speakingResp2(server)),
                "the Redis client is configured for RESP2");
    }

    /** Two gateways that cannot track: both hear every change, on the channel; the reason is logged once by each. */
    private void noticesComeOnTheChannel(RedisServer server, TestRedis gateways, String reason) {
        StatefulExecutor writer = redis(TestRedis.on(server)).executor();
        StatefulRouteForClientDriver reader = gateway(gateways.trackingWhereSupportedExecutor(true));
        StatefulRouteForClientDriver other = gateway(gateways.trackingWhereSupportedExecutor(true));
        podsOf(writer);
        writer.setLinkedPod(this.ns, "bob", "chat", 1, FOREVER);
        assertThat(reader.computeLinkedPod(this.ns, "bob", "chat")).isEqualTo(1);

        writer.setLinkedPod(this.ns, "bob", "chat", 2, FOREVER);

        await().atMost(Duration.ofSeconds(5)).until(() -> reader.noticeStats().evicted() == 1
                && other.noticeStats().received() == 1);
        assertThat(reader.computeLinkedPod(this.ns, "bob", "chat")).isEqualTo(2);
        assertThat(TrackingClients.count(redis(TestRedis.on(server)).sync())).isZero();
        assertThat(infos()).hasSize(2).allSatisfy((line) -> assertThat(line)
            .startsWith("Link change notices come on the channel " + CHANNEL + " (chosen at connect): " + reason));
    }

    /**
     * A failover (here: the ACL changed, then the tracking connections dropped) lands a tracking
     * gateway and a pod on a server that refuses tracking. The gateway distrusts its cache at
     * once, a move made while no notice could reach it is routed right once it trusts again (on
     * the channel, by a probe that came back there, which also starts its cache over), and later
     * moves reach it and the pod there.
     */
    @Test
    void aServerThatStopsTrackingAfterAReconnectSendsNoticesToTheChannel() {
        RedisServer server = server();
        TestRedis redis = redis(TestRedis.on(server));
        RedisCommands<String, String> admin = redis.sync();
        aclUser(admin, "+@all");
        TestRedis asGateway = redis(TestRedis.as(server, USER, PASSWORD));
        StatefulExecutor writer = redis.executor();
        podsOf(writer);
        StatefulRouteForClientDriver gateway = gateway(asGateway.trackingWhereSupportedExecutor(true));
        StatefulRouteForServerDriver pod = pod(asGateway.trackingWhereSupportedExecutor(true));
        Set<String> lost = LostUsers.of(pod);
        pod.setLinkedPod("held", FOREVER);
        await().atMost(Duration.ofSeconds(5)).until(() -> pod.owns("held"));
        for (String uid : List.of("early", "late")) {
            writer.setLinkedPod(this.ns, uid, "chat", 1, FOREVER);
            assertThat(gateway.computeLinkedPod(this.ns, uid, "chat")).isEqualTo(1);
        }

        aclUser(admin, "-client|tracking");
        TrackingClients.kill(admin);
        writer.setLinkedPod(this.ns, "early", "chat", 2, FOREVER);

        await().atMost(Duration.ofSeconds(5)).until(() -> !gateway.isFollowingLinkChanges());
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
            gateway.checkLinkChanges();
            return gateway.isFollowingLinkChanges();
        });
        assertThat(gateway.computeLinkedPod(this.ns, "early", "chat")).isEqualTo(2);
        // trusting again cleared the cache: what is read from now on is followed on the channel
        assertThat(gateway.computeLinkedPod(this.ns, "late", "chat")).isEqualTo(1);
        long evicted = gateway.noticeStats().evicted();
        await().atMost(Duration.ofSeconds(5)).until(() -> subscribers(admin) == 2);
        writer.setLinkedPod(this.ns, "late", "chat", 2, FOREVER);
        writer.setLinkedPod(this.ns, "held", "chat", 2, FOREVER);
        await().atMost(Duration.ofSeconds(5)).until(() -> gateway.noticeStats().evicted() > evicted);
        assertThat(gateway.computeLinkedPod(this.ns, "late", "chat")).isEqualTo(2);
        await().atMost(Duration.ofSeconds(5)).until(() -> lost.contains("held"));
        await().atMost(Duration.ofSeconds(5)).until(() -> TrackingClients.count(admin) == 0);
        assertThat(warnings()).hasSize(2).allSatisfy((line) -> assertThat(line)
            .startsWith("Link change notices now come on the channel " + CHANNEL
                    + ": the server refused CLIENT TRACKING (NOPERM"));
        pod.stop();
    }

    /**
     * Where link changes are not published on the channel, a gateway that can no longer track
     * has nowhere to hear of them: it keeps distrusting its cache (probes do not come back), so a
     * moved user is re-read within the fallback TTL, and it says why.
     */
    @Test
    void withoutChangesOnTheChannelAGatewayThatCannotTrackKeepsDistrustingItsCache() {
        RedisServer server = server();
        TestRedis redis = redis(TestRedis.on(server));
        RedisCommands<String, String> admin = redis.sync();
        aclUser(admin, "+@all");
        StatefulExecutor writer = redis.executor();
        podsOf(writer);
        StatefulRouteForClientDriver gateway = gateway(
                redis(TestRedis.as(server, USER, PASSWORD)).trackingWhereSupportedExecutor(false));
        writer.setLinkedPod(this.ns, "carol", "chat", 1, FOREVER);
        assertThat(gateway.computeLinkedPod(this.ns, "carol", "chat")).isEqualTo(1);

        aclUser(admin, "-client|tracking");
        TrackingClients.kill(admin);

        await().atMost(Duration.ofSeconds(5)).until(() -> !gateway.isFollowingLinkChanges());
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(200))
            .until(() -> {
                gateway.checkLinkChanges();
                return !gateway.isFollowingLinkChanges();
            });
        writer.setLinkedPod(this.ns, "carol", "chat", 2, FOREVER);
        await().atMost(Duration.ofSeconds(5)).until(() -> gateway.computeLinkedPod(this.ns, "carol", "chat") == 2);
        assertThat(subscribers(admin)).isZero();
        assertThat(warnings()).hasSize(1).allSatisfy((line) -> assertThat(line)
            .startsWith("Link change notices do not arrive: the server refused CLIENT TRACKING (NOPERM")
            .contains("link changes are not published on the channel " + CHANNEL));
    }

    private RedisServer server(String... args) {
        RedisServer server = RedisServers.standalone().args(args).start();
        this.closing.add(server);
        return server;
    }

    private TestRedis redis(TestRedis redis) {
        this.closing.add(redis);
        return redis;
    }

    /** Pods 0 to 2 of the chat service, routable. */
    private void podsOf(StatefulExecutor writer) {
        for (int pod = 0; pod < 3; pod++) {
            writer.setServiceState(this.ns, "chat", pod, RoutingState.READY, 0);
        }
    }

    /** A gateway of this test's namespace whose notices are known to arrive; stopped with the test. */
    private StatefulRouteForClientDriver gateway(StatefulExecutor executor) {
        StatefulRouteForClientDriver gateway = new StatefulRouteForClientDriver(executor,
                new RouteInfoDriver(new ServiceStateCache(executor, Duration.ofSeconds(30)),
                        PodSelectionStrategy.LOAD_AWARE.newSelector()),
                ClientOptions.defaults(this.ns));
        gateway.listenForLinkChanges();
        this.closing.add(gateway::stopListeningForLinkChanges);
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            gateway.checkLinkChanges().join();
            return gateway.isFollowingLinkChanges();
        });
        return gateway;
    }

    /** Pod 1 of the chat service following its users' links, with a lease that outlasts the test. */
    private StatefulRouteForServerDriver pod(StatefulExecutor executor) {
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(executor,
                new ServerOptions(new PodIdentity(this.ns, "chat", 1), 0, Duration.ZERO)
                    .withLease(Duration.ofSeconds(60), Duration.ofSeconds(1), Duration.ofMillis(200)));
        pod.start();
        pod.followLinkChanges();
        return pod;
    }

    /** (Re)defines the test's ACL user: every key and channel, with these command rules. */
    private static void aclUser(RedisCommands<String, String> admin, String... rules) {
        CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8).add("SETUSER").add(USER).add("on")
            .add(">" + PASSWORD).add("~*").add("&*");
        for (String rule : rules) {
            args.add(rule);
        }
        admin.dispatch(CommandType.ACL, new StatusOutput<>(StringCodec.UTF8), args);
    }

    private static long subscribers(RedisCommands<String, String> admin) {
        return admin.pubsubNumsub(CHANNEL).getOrDefault(CHANNEL, 0L);
    }

    private List<String> infos() {
        return messages(Level.INFO);
    }

    private List<String> warnings() {
        return messages(Level.WARN);
    }

    private List<String> messages(Level level) {
        return this.logged.list.stream().filter((event) -> event.getLevel() == level)
            .map(ILoggingEvent::getFormattedMessage).toList();
    }
}
