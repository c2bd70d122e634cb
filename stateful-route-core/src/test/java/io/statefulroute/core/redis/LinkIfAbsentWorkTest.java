package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.lettuce.core.SetArgs;
import io.lettuce.core.api.sync.RedisCommands;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.link.LinkInfo;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

/**
 * What {@code link_if_absent} asks of Redis in each case, counted by the server itself
 * ({@code INFO commandstats}), and that each link is a key of its own with Redis' own expiry.
 */
class LinkIfAbsentWorkTest {

    private static final String NS = "ns";

    private RedisServer server;

    private TestRedis redis;

    private StatefulExecutor executor;

    private RedisCommands<String, String> admin;

    private final RouteKeys keys = new RouteKeys("test");

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
        this.executor = this.redis.executor();
        this.admin = this.redis.sync();
        // loads the script, so the counted call is an EVALSHA only
        this.executor.setLinkedPodIfAbsent(NS, "warm-up", "chat", 0, 300);
    }

    @AfterEach
    void stop() {
        this.redis.close();
        this.server.close();
    }

    @Test
    void aNewUserCostsOneWriteThatSetsTheExpiry() {
        this.admin.configResetstat();

        LinkInfo link = this.executor.setLinkedPodIfAbsent(NS, "new", "chat", 2, 300);

        assertThat(link).isEqualTo(new LinkInfo(2, 300_000, true));
        assertThat(scriptCommands()).containsExactlyInAnyOrderEntriesOf(Map.of("set", 1L));
        String key = this.keys.link(NS, "new", "chat");
        assertThat(this.admin.get(key)).isEqualTo("2");
        assertThat(this.admin.pttl(key)).isCloseTo(300_000L, within(5_000L));
    }

    /**
     * Tracked, a new user still costs the write alone, and enters nothing in Redis' tracking
     * table; an existing user's link is read, and so tracked for the caller.
     */
    @Test
    void aTrackedNewUserCostsTheWriteAloneAndOnlyAnExistingLinkIsTracked() {
        StatefulExecutor tracked = this.redis.trackingExecutor();
        assertThat(tracked.hearsOfChangesToCreatedLinks()).isFalse();
        tracked.setLinkedPodIfAbsent(NS, "warm-up-tracked", "chat", 0, 300);
        this.admin.configResetstat();
        long trackedKeys = trackedKeys();

        assertThat(tracked.setLinkedPodIfAbsent(NS, "tracked", "chat", 1, 300)).isEqualTo(new LinkInfo(1, 300_000, true));

        assertThat(scriptCommands()).containsExactlyInAnyOrderEntriesOf(Map.of("set", 1L));
        assertThat(trackedKeys()).isEqualTo(trackedKeys);
        assertThat(tracked.setLinkedPodIfAbsent(NS, "tracked", "chat", 2, 300).created()).isFalse();
        assertThat(trackedKeys()).isEqualTo(trackedKeys + 1);
    }

    @Test
    void onTheChannelEveryChangeToACreatedLinkIsHeard() {
        assertThat(this.executor.hearsOfChangesToCreatedLinks()).isTrue();
    }

    @Test
    void anExistingLinkIsAnsweredWithItsRemainingLife() {
        this.executor.setLinkedPodIfAbsent(NS, "known", "chat", 1, 300);
        this.admin.configResetstat();

        LinkInfo link = this.executor.setLinkedPodIfAbsent(NS, "known", "chat", 2, 300);

        assertThat(link.created()).isFalse();
        assertThat(link.podIndex()).isEqualTo(1);
        assertThat(link.remainingMillis()).isCloseTo(300_000L, within(5_000L));
        assertThat(scriptCommands()).containsExactlyInAnyOrderEntriesOf(Map.of("set", 1L, "get", 1L, "pttl", 1L));
    }

    @Test
    void aPersistentLinkIsAKeyWithoutExpiry() {
        LinkInfo link = this.executor.setLinkedPodIfAbsent(NS, "loyal", "chat", 2, RouteArguments.PERSIST_FOREVER);

        assertThat(link).isEqualTo(new LinkInfo(2, -1, true));
        assertThat(this.admin.pttl(this.keys.link(NS, "loyal", "chat"))).isEqualTo(-1L);
        assertThat(this.executor.setLinkedPodIfAbsent(NS, "loyal", "chat", 3, 300)).isEqualTo(new LinkInfo(2, -1, false));
    }

    @Test
    void eachServiceIsALinkOfItsOwnAndTheUsersLinksAreListedTogether() {
        this.executor.setLinkedPod(NS, "multi", "game", 3, RouteArguments.PERSIST_FOREVER);

        this.executor.setLinkedPodIfAbsent(NS, "multi", "chat", 2, 300);

        assertThat(this.admin.pttl(this.keys.link(NS, "multi", "game"))).isEqualTo(-1L);
        assertThat(this.admin.pttl(this.keys.link(NS, "multi", "chat"))).isCloseTo(300_000L, within(5_000L));
        assertThat(this.executor.getLinkService(NS, "multi")).isEqualTo(Map.of("game", 3, "chat", 2));
    }

    @Test
    void aLinkRedisHasExpiredIsReplaced() {
        String key = this.keys.link(NS, "back", "chat");
        this.admin.set(key, "1", SetArgs.Builder.px(1));
        await().atMost(Duration.ofSeconds(5)).until(() -> this.admin.get(key) == null);

        LinkInfo link = this.executor.setLinkedPodIfAbsent(NS, "back", "chat", 2, 300);

        assertThat(link).isEqualTo(new LinkInfo(2, 300_000, true));
        assertThat(this.admin.pttl(key)).isCloseTo(300_000L, within(5_000L));
    }

    /** Commands run since the last reset, without the script call itself and the INFO that reads them. */
    /** Keys in Redis' tracking table, for any client. */
    private long trackedKeys() {
        String stats = this.admin.info("stats");
        int start = stats.indexOf("tracking_total_keys:") + "tracking_total_keys:".length();
        return Long.parseLong(stats.substring(start, stats.indexOf('\r', start)));
    }

    private Map<String, Long> scriptCommands() {
        Map<String, Long> calls = new LinkedHashMap<>();
        for (String line : this.admin.info("commandstats").split("\r?\n")) {
            if (line.startsWith("cmdstat_")) {
                String command = line.substring(8, line.indexOf(':'));
                int start = line.indexOf("calls=") + 6;
                long count = Long.parseLong(line.substring(start, line.indexOf(',', start)));
                if (!command.equals("evalsha") && !command.equals("info") && !command.startsWith("config")) {
                    calls.put(command, count);
                }
            }
        }
        return calls;
    }
}
