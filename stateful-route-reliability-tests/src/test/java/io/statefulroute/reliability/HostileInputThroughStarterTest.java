package io.statefulroute.reliability;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.statefulroute.actuate.StatefulRouteEndpoint;
import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

/**
 * Hostile input through the beans the starter wires (the core's own tests cover the executor):
 * 1 MB strings and huge or negative pod indexes reach no Redis command and fail with a typed
 * error naming the argument; seeded random ids never share a key; a pod index out of range in
 * the configuration or the host name fails startup clearly. A failure names its seed; rerun it
 * with {@code -Dseed=N}.
 */
class HostileInputThroughStarterTest {

    private static final RedisServer redis = RedisServers.shared();

    private static final String MEGABYTE = "x".repeat(1 << 20);

    private static final int[] BAD_PODS = { -1, Integer.MIN_VALUE, RouteArguments.MAX_POD_INDEX + 1, Integer.MAX_VALUE };

    private ApplicationContextRunner runner() {
        return StarterContexts.runner().withPropertyValues("spring.data.redis.host=" + redis.host(),
                "spring.data.redis.port=" + redis.port(), "stateful-route.key-prefix=" + StarterContexts.uniquePrefix(),
                "stateful-route.namespace=hostile", "stateful-route.server.drain-period=0s");
    }

    @Test
    void megabyteStringsAndHugePodIndexesNeverReachRedis() {
        // No scheduler and no notices, so every command Redis counts comes from the calls below.
        runner().withPropertyValues("stateful-route.scheduling.enabled=false", "stateful-route.link.follow-changes=false",
                "stateful-route.server.service=chat", "stateful-route.server.pod-index=0",
                "management.endpoints.web.exposure.include=statefulroute")
            .run((context) -> {
                assertThat(context).hasNotFailed();
                StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                StatefulExecutor executor = context.getBean(StatefulExecutor.class);
                StatefulRouteEndpoint endpoint = context.getBean(StatefulRouteEndpoint.class);
                List<Runnable> calls = new ArrayList<>();
                List<String> arguments = new ArrayList<>();
                Consumer<String> expect = arguments::add;
                add(calls, expect, "uid", () -> client.computeLinkedPod("hostile", MEGABYTE, "chat"));
                add(calls, expect, "namespace", () -> client.computeLinkedPodAsync(MEGABYTE, "u", "chat"));
                add(calls, expect, "service", () -> client.getLinkedPod("hostile", "u", MEGABYTE));
                add(calls, expect, "uid", () -> client.getLinkedPodNotCache("hostile", MEGABYTE, "chat"));
                add(calls, expect, "uid", () -> client.getLinkService("hostile", MEGABYTE));
                add(calls, expect, "uid", () -> client.batchGetLinkedPod("hostile", List.of("ok", MEGABYTE), "chat"));
                add(calls, expect, "uid", () -> client.setLinkedPodIfAbsent("hostile", MEGABYTE, "chat", 0));
                add(calls, expect, "uid", () -> server.setLinkedPod(MEGABYTE, RouteArguments.PERSIST_FOREVER));
                add(calls, expect, "uid", () -> server.trySetLinkedPod(MEGABYTE, 300));
                add(calls, expect, "uid", () -> server.removeLinkedPod(MEGABYTE, 0));
                add(calls, expect, "uid", () -> server.handOff(MEGABYTE, 1));
                for (int bad : BAD_PODS) {
                    add(calls, expect, "podIndex", () -> client.setCache("hostile", "u", "chat", bad));
                    add(calls, expect, "podIndex", () -> client.setLinkedPodIfAbsent("hostile", "u", "chat", bad));
                    add(calls, expect, "targetPodIndex", () -> server.handOff("u", bad));
                    add(calls, expect, "podIndex", () -> executor.setLinkedPod("hostile", "u", "chat", bad, 300));
                    add(calls, expect, "podIndex", () -> executor.removeLinkedPodWithId("hostile", "u", "chat", bad, 0));
                }
                long before = commandsProcessed();
                for (int i = 0; i < calls.size(); i++) {
                    String argument = arguments.get(i);
                    assertThatThrownBy(calls.get(i)::run).as("call %d", i).isInstanceOf(InvalidRouteArgumentException.class)
                        .satisfies((ex) -> assertThat(((InvalidRouteArgumentException) ex).getArgument()).isEqualTo(argument));
                }
                assertThatThrownBy(() -> endpoint.updatePod(null, -1)).isInstanceOf(InvalidEndpointRequestException.class);
                // None of the commands the library sends ran.
                assertThat(commandsProcessed()).isEqualTo(before);
                Figures.print("hostile", "invalid calls through the starter's beans rejected before Redis", calls.size() + 1);
            });
    }

    private static void add(List<Runnable> calls, Consumer<String> expect, String argument, Runnable call) {
        calls.add(call);
        expect.accept(argument);
    }

    /** Calls of the commands the library sends (INFO commandstats), so the check's own commands do not count. */
    private static long commandsProcessed() {
        RedisClient admin = RedisClient.create(RedisURI.create(redis.uri()));
        try {
            RedisCommands<String, String> sync = admin.connect().sync();
            return sync.info("commandstats").lines()
                .filter((line) -> line.matches("cmdstat_(evalsha|eval|get|hget|time|publish|subscribe):.*"))
                .mapToLong((line) -> Long.parseLong(line.replaceAll(".*calls=(\\d+),.*", "$1"))).sum();
        }
        finally {
            admin.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    /**
     * A workload state too long to publish (over 64 K chars) must not silence the pod: either it is
     * refused when set, or heartbeats go on without it. Fails until the server driver checks it (see the report).
     */
    @Test
    void anOversizedWorkloadStateNeverStopsHeartbeats() {
        runner().withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=0",
                "stateful-route.server.heartbeat-period=100ms")
            .run((context) -> {
                assertThat(context).hasNotFailed();
                StatefulRouteForServerDriver server = context.getBean(StatefulRouteForServerDriver.class);
                await().atMost(Duration.ofSeconds(5)).until(() -> server.heartbeatStatus().healthy());
                try {
                    server.setWorkloadState(MEGABYTE);
                }
                catch (InvalidRouteArgumentException ex) {
                    assertThat(ex.getArgument()).isEqualTo("workload");
                }
                Instant set = Instant.now();
                await().atMost(Duration.ofSeconds(3)).until(() -> server.heartbeatStatus().lastSuccess().isAfter(set));
            });
    }

    @Test
    void podIndexesOutOfRangeFailStartupNamingTheProblem() {
        runner().withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=65536")
            .run((context) -> assertThat(context).hasFailed().getFailure().rootCause()
                .isInstanceOf(InvalidRouteArgumentException.class).hasMessageContaining("podIndex"));
        runner().withPropertyValues("stateful-route.server.service=chat", "stateful-route.server.pod-index=2147483648")
            .run((context) -> assertThat(context).hasFailed().getFailure().hasStackTraceContaining("pod-index"));
        runner().withPropertyValues("stateful-route.server.service=chat", "HOSTNAME=chat-999999999")
            .run((context) -> assertThat(context).hasFailed().getFailure().rootCause()
                .isInstanceOf(InvalidRouteArgumentException.class).hasMessageContaining("podIndex"));
        runner().withPropertyValues("stateful-route.server.service=chat", "HOSTNAME=chat-99999999999")
            .run((context) -> assertThat(context).hasFailed().getFailure()
                .hasStackTraceContaining("stateful-route.server.pod-index"));
    }

    /**
     * Seeded random ids over an alphabet made to collide if the key encoding were not injective
     * (surrogates, '?', '%', braces, colons, spaces, unicode): an id with an unpaired surrogate
     * (no UTF-8 form) is rejected by name before Redis; every other distinct uid gets its own pod
     * and must read back its own pod, through the starter's client driver.
     */
    @Test
    void distinctRandomIdsNeverShareAKey() {
        long seed = Long.getLong("seed", System.nanoTime());
        runner().withPropertyValues("stateful-route.scheduling.enabled=false", "stateful-route.link.follow-changes=false")
            .run((context) -> {
                assertThat(context).hasNotFailed();
                StatefulExecutor executor = context.getBean(StatefulExecutor.class);
                StatefulRouteForClientDriver client = context.getBean(StatefulRouteForClientDriver.class);
                Set<String> uids = randomIds(new Random(seed), 2000);
                List<String> ordered = new ArrayList<>();
                int rejected = 0;
                for (String uid : uids) {
                    if (uid.codePoints().anyMatch((c) -> c >= 0xD800 && c <= 0xDFFF)) {
                        assertThatThrownBy(() -> executor.setLinkedPod("hostile", uid, "chat", 0,
                                RouteArguments.PERSIST_FOREVER)).isInstanceOf(InvalidRouteArgumentException.class)
                            .hasMessageContaining("uid").hasMessageContaining("unpaired surrogate");
                        rejected++;
                    }
                    else {
                        ordered.add(uid);
                    }
                }
                Figures.print("hostile", "random ids with an unpaired surrogate, rejected", rejected);
                List<CompletableFuture<OptionalInt>> writes = new ArrayList<>();
                for (int i = 0; i < ordered.size(); i++) {
                    writes.add(executor.setLinkedPodAsync("hostile", ordered.get(i), "chat", i, RouteArguments.PERSIST_FOREVER));
                }
                writes.forEach(CompletableFuture::join);
                List<String> shared = new ArrayList<>();
                for (int i = 0; i < ordered.size(); i++) {
                    OptionalInt pod = client.getLinkedPodNotCache("hostile", ordered.get(i), "chat");
                    if (pod.isEmpty() || pod.getAsInt() != i) {
                        int other = pod.orElse(-1);
                        shared.add(escape(ordered.get(i)) + " reads pod " + other + " written for "
                                + ((other >= 0) ? escape(ordered.get(other)) : "nobody"));
                    }
                }
                Figures.print("hostile", "random ids tried (seed " + seed + ")", ordered.size());
                Figures.print("hostile", "distinct ids that shared a key", shared.size()
                        + (shared.isEmpty() ? "" : ", e.g. " + shared.subList(0, Math.min(3, shared.size()))));
                if (!shared.isEmpty()) {
                    fail("seed " + seed + ": distinct uids share a key: " + shared.subList(0, Math.min(5, shared.size())));
                }
            });
    }

    private static Set<String> randomIds(Random random, int count) {
        String[] alphabet = { "a", "?", "%", "%3F", "{", "}", ":", " ", "ü", "😀", "\uD800", "\uDBFF", "\uDC00", "\uDFFF",
            "\u0000", "-", "." };
        Set<String> ids = new LinkedHashSet<>();
        while (ids.size() < count) {
            StringBuilder id = new StringBuilder();
            int length = 1 + random.nextInt(4);
            for (int i = 0; i < length; i++) {
                id.append(alphabet[random.nextInt(alphabet.length)]);
            }
            if (!id.toString().isBlank()) {
                ids.add(id.toString());
            }
        }
        return ids;
    }

    private static String escape(String id) {
        StringBuilder escaped = new StringBuilder("\"");
        id.chars().forEach((c) -> escaped.append((c < 0x20 || c > 0x7e) ? String.format("\\u%04X", c) : String.valueOf((char) c)));
        return escaped.append('"').toString();
    }

}
