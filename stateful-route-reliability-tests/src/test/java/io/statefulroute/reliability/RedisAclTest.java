package io.statefulroute.reliability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.StatefulRouteException;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The starter end to end as a Redis ACL user that may touch only the library's keys and channel
 * and run only the commands the library sends; proves the ACL is real by what it refuses, and
 * proves the list is complete (nothing denied in {@code ACL LOG}) and minimal (every command in it
 * was seen by {@code MONITOR}).
 */
class RedisAclTest {

    private static final String USER = "stateful-route";

    private static final String PASSWORD = "s3cret-" + System.nanoTime();

    /**
     * Commands the library's clients send (Lettuce's connection handshake included): link notices
     * by client tracking (the default, where the server supports it) or on the channel.
     */
    static final List<String> CLIENT_COMMANDS = List.of("evalsha", "eval", "get", "mget", "zrange", "publish",
            "subscribe", "client|tracking", "ping", "hello", "client|setinfo", "client|setname");

    /** The commands only notices by client tracking need. */
    static final List<String> TRACKING_COMMANDS = List.of("client|tracking");

    /** Commands the library's Lua scripts call: Redis checks those against the ACL too. */
    static final List<String> SCRIPT_COMMANDS = List.of("time", "hset", "hdel", "hgetall", "pexpire", "set", "pttl",
            "del", "zadd", "zremrangebyscore", "info");

    /** Without client tracking: link notices come on the channel. */
    private static final String CHANNEL_USER = "stateful-route-channel";

    private static RedisServer redis;

    private static RedisClient adminClient;

    private static RedisCommands<String, String> admin;

    @BeforeAll
    static void createUser() {
        redis = RedisServers.standalone().start();
        adminClient = RedisClient.create(RedisURI.create(redis.uri()));
        admin = adminClient.connect().sync();
        createUser(USER, CLIENT_COMMANDS);
        createUser(CHANNEL_USER, CLIENT_COMMANDS.stream().filter((command) -> !TRACKING_COMMANDS.contains(command))
            .toList());
        Figures.print("acl", "server", redis.kind() + " " + redis.version());
        Figures.print("acl", "ACL GETUSER rules", admin.aclGetuser(USER));
    }

    private static void createUser(String user, List<String> clientCommands) {
        List<String> rules = new ArrayList<>(List.of("SETUSER", user, "reset", "on", ">" + PASSWORD, "~sr:*", "&sr:*",
                "-@all"));
        clientCommands.stream().filter(RedisAclTest::knownTo).forEach((command) -> rules.add("+" + command));
        SCRIPT_COMMANDS.forEach((command) -> rules.add("+" + command));
        CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8);
        rules.forEach(args::add);
        admin.dispatch(CommandType.ACL, new StatusOutput<>(StringCodec.UTF8), args);
    }

    /** CLIENT SETINFO came with Redis 7.2: older servers know no such subcommand, so the rule cannot name it. */
    private static boolean knownTo(String command) {
        return !command.equals("client|setinfo") || versionAtLeast(7, 2);
    }

    private static boolean versionAtLeast(int major, int minor) {
        String[] version = redis.version().split("\\.");
        int actualMajor = Integer.parseInt(version[0]);
        return actualMajor > major || (actualMajor == major && Integer.parseInt(version[1]) >= minor);
    }

    @AfterAll
    static void stop() {
        adminClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        redis.close();
    }

    private ApplicationContextRunner runner(String keyPrefix) {
        return runner(USER, keyPrefix);
    }

    private ApplicationContextRunner runner(String user, String keyPrefix) {
        return StarterContexts.runner().withPropertyValues("spring.data.redis.host=" + redis.host(),
                "spring.data.redis.port=" + redis.port(), "spring.data.redis.username=" + user,
                "spring.data.redis.password=" + PASSWORD, "stateful-route.key-prefix=" + keyPrefix,
                "stateful-route.namespace=acl", "stateful-route.server.service=chat",
                "stateful-route.server.pod-index=0", "stateful-route.server.heartbeat-period=200ms",
                "stateful-route.server.drain-period=200ms", "stateful-route.state.refresh-period=200ms",
                "stateful-route.state.pod-expiry=5s", "stateful-route.command-timeout=2s");
    }

    /** The default: link notices by client tracking, as this server supports it. */
    @Test
    void everyFeatureWorksWithOnlyTheAclListAndNothingIsDenied() throws Exception {
        Set<String> used = everyFeatureAs(USER, "auto");
        assertThat(deniedCommands()).as("ACL LOG: the ACL list lacks something the library needs").isEmpty();
        assertThat(used).containsAll(List.of("evalsha", "get", "mget", "zrange", "publish", "client|tracking"));
        assertThat(used).as("commands sent that the ACL list does not name").isSubsetOf(allowed(CLIENT_COMMANDS));
    }

    @Test
    void withNoticesOnTheChannelNothingIsDeniedEither() throws Exception {
        Set<String> used = everyFeatureAs(USER, "channel");
        assertThat(deniedCommands()).as("ACL LOG: the ACL list lacks something the library needs").isEmpty();
        assertThat(used).containsAll(List.of("evalsha", "get", "mget", "zrange", "publish", "subscribe"));
        assertThat(used).doesNotContainAnyElementsOf(TRACKING_COMMANDS);
    }

    /**
     * A list without client tracking (an older list, or a policy): notices=auto finds CLIENT
     * TRACKING refused at connect and follows the channel instead; everything works, and the one
     * refusal is all that ACL LOG records.
     */
    @Test
    void withoutClientTrackingInTheListNoticesComeOnTheChannel() throws Exception {
        List<String> channelList = CLIENT_COMMANDS.stream().filter((command) -> !TRACKING_COMMANDS.contains(command))
            .toList();
        Set<String> used = everyFeatureAs(CHANNEL_USER, "auto");
        assertThat(deniedCommands()).containsOnly("client|tracking");
        assertThat(used).contains("subscribe");
        assertThat(used).as("commands sent that the ACL list does not name").isSubsetOf(allowed(channelList));
    }

    /** Runs every feature as the user with notices delivered as said; the commands MONITOR saw, scripts' ones unprefixed. */
    private Set<String> everyFeatureAs(String user, String notices) throws Exception {
        // each run starts on an empty server: a pod another run left READY would take new users
        admin.flushall();
        admin.aclLogReset();
        Set<String> seen;
        try (RedisMonitor monitor = new RedisMonitor(redis.host(), redis.port())) {
            runner(user, "sr").withPropertyValues("stateful-route.link.notices=" + notices).run((context) -> {
                assertThat(context).hasNotFailed();
                StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                StatefulExecutor executor = context.getBean(StatefulExecutor.class);
                await().atMost(Duration.ofSeconds(10))
                    .until(() -> server.heartbeatStatus().healthy() && client.isFollowingLinkChanges());

                assertThat(client.computeLinkedPod("acl", "alice", "chat")).isZero();
                server.setLinkedPod("alice", RouteArguments.PERSIST_FOREVER);
                assertThat(client.getLinkedPodNotCache("acl", "alice", "chat")).hasValue(0);
                assertThat(client.getLinkService("acl", "alice")).containsExactly(Map.entry("chat", 0));
                assertThat(client.batchGetLinkedPod("acl", List.of("alice", "nobody"), "chat"))
                    .containsExactly(Map.entry(0, List.of("alice")));
                server.setWorkloadState("quiet");
                server.heartbeat();
                assertThat(executor.getWorkloadState("acl", List.of("chat"))).containsKey("chat");

                // A second pod, then a handoff: the client drops its cached link (the probes that made it
                // trust its notices came back through the ACL).
                executor.setServiceState("acl", "chat", 1, RoutingState.READY, 0);
                client.routeInfo().states().refresh();
                assertThat(client.computeLinkedPod("acl", "alice", "chat")).isZero();
                assertThat(server.handOff("alice", 1)).isTrue();
                await().atMost(Duration.ofSeconds(2)).until(() -> client.getLinkedInCache("acl", "alice", "chat").isEmpty());
                assertThat(client.computeLinkedPod("acl", "alice", "chat")).isEqualTo(1);
                assertThat(executor.removeLinkedPod("acl", "alice", "chat", 0)).hasValue(1);
                server.setRoutingState(RoutingState.DENY_NEW_CALL);
                assertThat(server.heartbeat()).isTrue();
            });
            seen = monitor.commands();
        }
        Figures.print("acl", "commands seen by MONITOR (" + user + ", notices=" + notices + ")", seen);
        Set<String> used = new TreeSet<>();
        for (String command : seen) {
            used.add(command.startsWith("lua:") ? command.substring(4) : command);
        }
        // hdel: the heartbeat's pruning of pods gone for longer than the retention, not reached here
        assertThat(used).containsAll(SCRIPT_COMMANDS.stream().filter((command) -> !command.equals("hdel")).toList());
        return used;
    }

    /** What ACL LOG recorded as refused since the last reset, by command. */
    private static Set<String> deniedCommands() {
        List<Map<String, Object>> denied = admin.aclLog();
        Figures.print("acl", "ACL LOG entries", denied);
        Set<String> commands = new TreeSet<>();
        denied.forEach((entry) -> commands.add(String.valueOf(entry.get("object"))));
        return commands;
    }

    private static Set<String> allowed(List<String> clientCommands) {
        Set<String> allowed = new TreeSet<>(clientCommands);
        allowed.addAll(SCRIPT_COMMANDS);
        return allowed;
    }

    @Test
    void theAclIsRealOtherKeysChannelsAndCommandsAreRefused() {
        RedisURI uri = RedisURI.builder().withHost(redis.host()).withPort(redis.port())
            .withAuthentication(USER, PASSWORD.toCharArray()).build();
        RedisClient restricted = RedisClient.create(uri);
        try (StatefulRedisConnection<String, String> connection = restricted.connect()) {
            RedisCommands<String, String> redisAsUser = connection.sync();
            assertThat(redisAsUser.get("sr:anything")).isNull();
            assertThatThrownBy(() -> redisAsUser.get("other:key")).isInstanceOf(RedisCommandExecutionException.class)
                .hasMessageStartingWith("NOPERM");
            assertThatThrownBy(redisAsUser::flushall).hasMessageStartingWith("NOPERM");
            assertThatThrownBy(() -> redisAsUser.keys("*")).hasMessageStartingWith("NOPERM");
            assertThatThrownBy(() -> redisAsUser.configGet("*")).hasMessageStartingWith("NOPERM");
            assertThatThrownBy(() -> redisAsUser.lpush("sr:anything", "x")).hasMessageStartingWith("NOPERM");
            assertThatThrownBy(() -> redisAsUser.publish("other-channel", "x")).hasMessageStartingWith("NOPERM");
            // A script may not reach outside the prefix either, even through a permitted command.
            assertThatThrownBy(() -> redisAsUser.eval("return redis.call('GET', KEYS[1])",
                    io.lettuce.core.ScriptOutputType.VALUE, "other:key")).hasMessageContaining("NOPERM");
        }
        finally {
            restricted.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }

        // The library under another key prefix: Redis refuses, and the caller gets a typed error
        // carrying Redis' answer, not "unavailable".
        runner("other").run((context) -> {
            assertThat(context).hasNotFailed();
            StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
            StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
            assertThatThrownBy(() -> client.computeLinkedPod("acl", "bob", "chat"))
                .isInstanceOf(StatefulRouteException.class)
                .isNotInstanceOf(RedisUnavailableException.class)
                .hasMessageContaining("NOPERM");
            assertThat(server.heartbeat()).isFalse();
            assertThat(server.heartbeatStatus().lastError()).contains("NOPERM");
        });
    }
}
