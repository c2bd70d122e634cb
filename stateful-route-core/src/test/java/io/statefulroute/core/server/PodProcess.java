package io.statefulroute.core.server;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.redis.RedisStatefulExecutor;

import static org.awaitility.Awaitility.await;

/**
 * Pod 0 as its own JVM, for {@link PodProcessStallTest} to freeze with {@code SIGSTOP}: links
 * its users, heartbeats on a period, and reports on stdout (lines are the protocol):
 * {@code READY}, {@code LAPSED <detectedAtNanos> <sinceLastSuccessNanos>}, {@code LOST <uid>};
 * on stdin {@code HELD} and {@code OWNS} answer with the comma-separated users, {@code QUIT} exits.
 * System.nanoTime() is CLOCK_MONOTONIC on Linux, shared with the test's JVM.
 *
 * <p>Arguments: redis port, namespace, users, pod expiry ms, lease margin ms, relink grace ms, period ms.
 */
public final class PodProcess {

    private PodProcess() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String ns = args[1];
        int users = Integer.parseInt(args[2]);
        Duration podExpiry = Duration.ofMillis(Long.parseLong(args[3]));
        Duration margin = Duration.ofMillis(Long.parseLong(args[4]));
        Duration grace = Duration.ofMillis(Long.parseLong(args[5]));
        long period = Long.parseLong(args[6]);
        RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", port));
        RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
            .ownedConnection(client.connect(StringCodec.UTF8))
            .pubSubConnections(() -> client.connectPubSub(StringCodec.UTF8))
            .keyPrefix("test")
            .commandTimeout(Duration.ofMillis(500))
            .build();
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(executor,
                new ServerOptions(new PodIdentity(ns, "chat", 0), 0, Duration.ZERO).withLease(podExpiry, margin, grace));
        pod.addOwnershipListener(new OwnershipListener() {
            @Override
            public void leaseLapsed(PodIdentity identity, Duration sinceLastSuccess) {
                say("LAPSED " + System.nanoTime() + " " + sinceLastSuccess.toNanos());
            }

            @Override
            public void usersLost(PodIdentity identity, Set<String> uids, LossReason reason) {
                uids.forEach((uid) -> say("LOST " + uid));
            }
        });
        pod.followLinkChanges();
        pod.start();
        ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor();
        heartbeats.scheduleAtFixedRate(pod::heartbeatAsync, period, period, TimeUnit.MILLISECONDS);
        // a cold JVM's first heartbeat may time out: take users only under a live lease
        await().atMost(Duration.ofSeconds(30)).until(pod::isLeaseLive);
        List<String> uids = new ArrayList<>();
        for (int i = 0; i < users; i++) {
            uids.add("player-" + i);
            pod.setLinkedPod("player-" + i, RouteArguments.PERSIST_FOREVER);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> uids.stream().allMatch(pod::owns));
        say("READY");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null && !line.equals("QUIT"); line = in.readLine()) {
            if (line.equals("HELD")) {
                say("HELD " + String.join(",", pod.heldUsers()));
            }
            else if (line.equals("OWNS")) {
                say("OWNS " + String.join(",", uids.stream().filter(pod::owns).toList()));
            }
        }
        heartbeats.shutdownNow();
        pod.stop();
        executor.close();
        client.shutdown();
        System.exit(0);
    }

    private static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
