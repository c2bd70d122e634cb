package io.statefulroute.core.link;

import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions.CacheExpiry;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The link cache's expiry policies: an entry renewed on access still never outlives its Redis link. */
class LinkCacheExpiryTest {

    private static final Duration LINK_TTL = Duration.ofSeconds(1);

    private static final Duration CACHE_TTL = Duration.ofMillis(500);

    private final String namespace = TestRedis.freshNamespace();

    private TestRedis redis;

    private StatefulExecutor executor;

    @BeforeEach
    void start() {
        this.redis = TestRedis.on(RedisServers.shared());
        this.executor = this.redis.executor();
        this.executor.setServiceState(this.namespace, "chat", 0, RoutingState.READY, 0);
    }

    @AfterEach
    void stop() {
        this.redis.close();
    }

    private StatefulRouteForClientDriver client(CacheExpiry expiry) {
        ClientOptions options = new ClientOptions(this.namespace, LINK_TTL, CACHE_TTL, 1000).withCacheExpiry(expiry);
        return new StatefulRouteForClientDriver(this.executor,
                new RouteInfoDriver(new ServiceStateCache(this.executor, Duration.ofSeconds(5)),
                        PodSelectionStrategy.LOAD_AWARE.newSelector()), options);
    }

    @Test
    void defaultPolicyIsAfterWrite() {
        assertThat(ClientOptions.defaults("ns").cacheExpiry()).isEqualTo(CacheExpiry.AFTER_WRITE);
        assertThat(new ClientOptions("ns", LINK_TTL, CACHE_TTL, 10, Duration.ZERO).cacheExpiry())
            .isEqualTo(CacheExpiry.AFTER_WRITE);
    }

    @Test
    void afterAccessRenewsAnUsedTemporaryLinkButNeverPastItsRedisLink() {
        StatefulRouteForClientDriver client = client(CacheExpiry.AFTER_ACCESS);
        long created = System.nanoTime();
        client.computeLinkedPod(this.namespace, "active", "chat");
        AtomicLong lastCached = new AtomicLong();
        await().pollInterval(Duration.ofMillis(20)).atMost(Duration.ofSeconds(3)).until(() -> {
            // Redis first: a link cached after this read was live at this read
            OptionalInt inRedis = this.executor.getLinkedPod(this.namespace, "active", "chat");
            OptionalInt cached = client.getLinkedInCache(this.namespace, "active", "chat");
            if (cached.isPresent()) {
                assertThat(inRedis).as("a cached link outlived its Redis link").isPresent();
                lastCached.set(System.nanoTime());
            }
            return cached.isEmpty();
        });
        // kept past the cache TTL by the lookups, dropped no later than the Redis link
        assertThat(Duration.ofNanos(lastCached.get() - created)).isGreaterThan(CACHE_TTL);
    }

    @Test
    void afterAccessRenewsPersistentLinksForTheCacheTtl() {
        StatefulRouteForClientDriver client = client(CacheExpiry.AFTER_ACCESS);
        this.executor.setLinkedPod(this.namespace, "resident", "chat", 0, RouteArguments.PERSIST_FOREVER);
        long cachedAt = System.nanoTime();
        assertThat(client.getLinkedPod(this.namespace, "resident", "chat")).hasValue(0);
        await().pollInterval(Duration.ofMillis(50)).atMost(Duration.ofSeconds(3))
            .until(() -> client.getLinkedInCache(this.namespace, "resident", "chat").isPresent()
                    && System.nanoTime() - cachedAt > 2 * CACHE_TTL.toNanos());
    }

    @Test
    void afterWriteDropsAnUsedLinkAfterTheCacheTtl() {
        StatefulRouteForClientDriver client = client(CacheExpiry.AFTER_WRITE);
        this.executor.setLinkedPod(this.namespace, "resident", "chat", 0, RouteArguments.PERSIST_FOREVER);
        long cachedAt = System.nanoTime();
        assertThat(client.getLinkedPod(this.namespace, "resident", "chat")).hasValue(0);
        await().pollInterval(Duration.ofMillis(20)).atMost(Duration.ofSeconds(3))
            .until(() -> client.getLinkedInCache(this.namespace, "resident", "chat").isEmpty());
        assertThat(Duration.ofNanos(System.nanoTime() - cachedAt)).isLessThan(CACHE_TTL.multipliedBy(3));
    }

}
