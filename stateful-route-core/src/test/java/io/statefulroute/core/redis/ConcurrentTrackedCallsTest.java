package io.statefulroute.core.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.lettuce.core.api.sync.RedisCommands;
import io.statefulroute.core.Notices;
import io.statefulroute.core.TestRedis;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Link calls made at once from many threads on one tracking connection: every link a call
 * read is tracked for this client, so a later change by another client reaches it. Each call
 * must reach Redis tracked whatever the other threads write on the connection meanwhile; a
 * call that went untracked would leave its caller's cached link without notices for the whole
 * cache TTL.
 */
class ConcurrentTrackedCallsTest {

    private static final String NS = "ns";

    private static final int THREADS = 16;

    private static final int CALLS_PER_THREAD = 1_000;

    private RedisServer server;

    private TestRedis redis;

    private final RouteKeys keys = new RouteKeys("test");

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
    }

    @AfterEach
    void stop() {
        this.redis.close();
        this.server.close();
    }

    @Test
    void everyLinkReadByCallsFromManyThreadsAtOnceHearsOfItsNextChange() throws Exception {
        RedisStatefulExecutor executor = this.redis.trackingExecutor();
        Set<String> noticed = ConcurrentHashMap.newKeySet();
        AtomicInteger mayHaveMissed = new AtomicInteger();
        executor.subscribeLinkChanges(Notices.uids(noticed::add, mayHaveMissed::incrementAndGet));
        executor.setLinkedPodIfAbsent(NS, "warm-up", "chat", 0, 300);
        int missedBefore = mayHaveMissed.get();
        // linked by another client: a link the tracking client created would not be tracked for it
        RedisCommands<String, String> other = this.redis.sync();
        int users = THREADS * CALLS_PER_THREAD;
        for (int i = 0; i < users; i++) {
            other.setex(this.keys.link(NS, "user-" + i, "chat"), 300, "0");
        }

        ExecutorService callers = Executors.newFixedThreadPool(THREADS);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        for (int thread = 0; thread < THREADS; thread++) {
            int first = thread * CALLS_PER_THREAD;
            done.add(callers.submit(() -> {
                go.await();
                for (int i = first; i < first + CALLS_PER_THREAD; i++) {
                    assertThat(executor.setLinkedPodIfAbsent(NS, "user-" + i, "chat", 1, 300).created()).isFalse();
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<?> each : done) {
            each.get();
        }
        callers.shutdown();

        // another client moves every user: each of them was read tracked, so each move is a notice
        for (int i = 0; i < users; i++) {
            other.set(this.keys.link(NS, "user-" + i, "chat"), "2");
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(noticed)
            .as("users whose move was noticed, of %d", users).hasSize(users));
        assertThat(mayHaveMissed.get()).as("reports that notices may have been missed").isEqualTo(missedBefore);
    }
}
