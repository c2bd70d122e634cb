package io.statefulroute.autoconfigure;

import java.time.Duration;
import java.util.UUID;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.statefulroute.autoconfigure.StatefulRouteProperties.Link.NoticeDelivery;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * How link change notices reach the application: {@code stateful-route.link.notices} by default
 * ({@code auto}) and set to each value, counted on a server of this class's own (connections
 * with client tracking on, subscribers of the channel); and which settings start at all.
 */
@ExtendWith(OutputCaptureExtension.class)
class StatefulRouteLinkNoticesTests {

    private static final String USER = "no-tracking";

    private static final String PASSWORD = "pw-" + System.nanoTime();

    private static RedisServer redis;

    private static RedisClient adminClient;

    private static RedisCommands<String, String> admin;

    private final String prefix = "sr-" + UUID.randomUUID().toString().substring(0, 8);

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class, StatefulRouteAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
                "stateful-route.key-prefix=" + this.prefix, "stateful-route.server.drain-period=0s",
                "stateful-route.state.refresh-period=100ms");

    @BeforeAll
    static void start() {
        redis = RedisServers.standalone().start();
        adminClient = RedisClient.create(redis.uri());
        admin = adminClient.connect(StringCodec.UTF8).sync();
        // a user that may do anything but CLIENT TRACKING, as some proxies and managed offerings
        admin.dispatch(CommandType.ACL, new StatusOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8)
            .add("SETUSER").add(USER).add("on").add(">" + PASSWORD).add("~*").add("&*").add("+@all")
            .add("-client|tracking"));
    }

    @AfterAll
    static void stop() {
        adminClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        redis.close();
    }

    /**
     * The default: a gateway and its pod share one tracking connection and follow no channel; a
     * change by another client reaches the gateway; the choice is logged with its reason.
     */
    @Test
    void byDefaultNoticesComeByTrackingWhereTheServerSupportsIt(CapturedOutput output) {
        this.contextRunner.withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0")
            .run((context) -> {
                assertThat(context.getBean(StatefulRouteProperties.class).getLink().getNotices())
                    .isEqualTo(NoticeDelivery.AUTO);
                StatefulRouteForClientDriver client = following(context.getBean(StatefulRouteForClientDriver.class));
                assertThat(trackingClients()).isOne();
                assertThat(subscribers()).isZero();
                movedByAnotherClientIsEvicted(client, context.getBean(StatefulExecutor.class));
                assertThat(output).containsOnlyOnce("Link change notices come by client tracking (chosen at connect): Redis "
                        + redis.version() + " tracks this client over RESP3");
            });
    }

    @Test
    void autoUsesTheChannelWhereTheServerRefusesTracking(CapturedOutput output) {
        this.contextRunner.withPropertyValues("spring.data.redis.username=" + USER,
                "spring.data.redis.password=" + PASSWORD, "stateful-route.server.service=chat",
                "stateful-route.server.pod-index=0")
            .run((context) -> {
                StatefulRouteForClientDriver client = following(context.getBean(StatefulRouteForClientDriver.class));
                assertThat(trackingClients()).isZero();
                // the gateway and its pod
                await().atMost(Duration.ofSeconds(5)).until(() -> subscribers() == 2);
                movedByAnotherClientIsEvicted(client, context.getBean(StatefulExecutor.class));
                assertThat(output).containsOnlyOnce("Link change notices come on the channel " + this.prefix
                        + ":link-changes (chosen at connect): the server refused CLIENT TRACKING (NOPERM");
            });
    }

    @Test
    void channelFollowsTheChannelAndTracksNothing() {
        this.contextRunner.withPropertyValues("stateful-route.link.notices=channel", "stateful-route.server.service=chat",
                "stateful-route.server.pod-index=0")
            .run((context) -> {
                StatefulRouteForClientDriver client = following(context.getBean(StatefulRouteForClientDriver.class));
                assertThat(trackingClients()).isZero();
                await().atMost(Duration.ofSeconds(5)).until(() -> subscribers() == 2);
                movedByAnotherClientIsEvicted(client, context.getBean(StatefulExecutor.class));
            });
    }

    @Test
    void trackingTracksAndFollowsNoChannel() {
        this.contextRunner.withPropertyValues("stateful-route.link.notices=tracking")
            .run((context) -> {
                StatefulRouteForClientDriver client = following(context.getBean(StatefulRouteForClientDriver.class));
                assertThat(trackingClients()).isOne();
                assertThat(subscribers()).isZero();
                movedByAnotherClientIsEvicted(client, context.getBean(StatefulExecutor.class));
            });
    }

    /** Nobody follows notices: no tracking connection (it would only fill Redis' tracking table), no subscription. */
    @Test
    void withoutFollowingChangesNothingTracksOrSubscribes() {
        for (String notices : new String[] { "auto", "tracking", "channel" }) {
            this.contextRunner.withPropertyValues("stateful-route.link.follow-changes=false",
                    "stateful-route.link.notices=" + notices)
                .run((context) -> {
                    StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
                    String ns = client.options().localNamespace();
                    assertThat(client.setLinkedPodIfAbsent(ns, "untracked-" + notices, "chat", 1)).isOne();
                    assertThat(trackingClients()).as(notices).isZero();
                    assertThat(subscribers()).as(notices).isZero();
                });
        }
    }

    /** A channel follower that publishes nothing would miss every change it makes: refused at startup. */
    @Test
    void publishChangesOffNeedsAutoOrTracking() {
        this.contextRunner.withPropertyValues("stateful-route.link.notices=channel",
                "stateful-route.link.publish-changes=false")
            .run((context) -> assertThat(context).getFailure()
                .hasStackTraceContaining("publishChanges")
                .hasStackTraceContaining("false needs stateful-route.link.notices=auto or tracking"));
        for (String allowed : new String[] { "stateful-route.link.notices=auto", "stateful-route.link.notices=tracking",
                "stateful-route.link.follow-changes=false" }) {
            this.contextRunner.withPropertyValues("stateful-route.link.publish-changes=false", allowed)
                .run((context) -> assertThat(context).as(allowed).hasNotFailed());
        }
    }

    private static StatefulRouteForClientDriver following(StatefulRouteForClientDriver client) {
        await().atMost(Duration.ofSeconds(5)).until(client::isFollowingLinkChanges);
        return client;
    }

    /** Caches a link, which another client then moves: the cached copy goes at once, not after the cache TTL. */
    private static void movedByAnotherClientIsEvicted(StatefulRouteForClientDriver client, StatefulExecutor executor) {
        String ns = client.options().localNamespace();
        assertThat(client.setLinkedPodIfAbsent(ns, "mover", "chat", 1)).isOne();
        RedisClient other = RedisClient.create(redis.uri());
        try (RedisStatefulExecutor writer = RedisStatefulExecutor.builder()
            .ownedConnection(other.connect(StringCodec.UTF8))
            .keyPrefix(((RedisStatefulExecutor) executor).keyPrefix())
            .build()) {
            writer.setLinkedPod(ns, "mover", "chat", 2, RouteArguments.PERSIST_FOREVER);
            await().atMost(Duration.ofSeconds(2)).until(() -> client.getLinkedInCache(ns, "mover", "chat").isEmpty());
        }
        finally {
            other.shutdown();
        }
    }

    /** Connections with client tracking on ('t' in CLIENT LIST's flags). */
    private static long trackingClients() {
        return admin.clientList().lines().filter((line) -> line.matches(".* flags=[^ ]*t[^ ]* .*")).count();
    }

    private long subscribers() {
        String channel = this.prefix + ":link-changes";
        return admin.pubsubNumsub(channel).getOrDefault(channel, 0L);
    }
}
