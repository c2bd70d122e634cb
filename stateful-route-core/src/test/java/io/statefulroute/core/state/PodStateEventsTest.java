package io.statefulroute.core.state;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.TestRedis;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.PodStateChange.Kind;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class PodStateEventsTest {

    private TestRedis redis;

    private StatefulExecutor executor;

    private ServiceStateCache cache;

    private final List<PodStateChange> changes = new CopyOnWriteArrayList<>();

    private String ns;

    @BeforeEach
    void start() {
        this.redis = TestRedis.on(RedisServers.shared());
        this.executor = this.redis.executor();
        this.cache = new ServiceStateCache(this.executor, Duration.ofSeconds(1));
        this.cache.addListener(this.changes::add);
        this.cache.setLoadChangeThreshold(10);
        this.ns = TestRedis.freshNamespace();
    }

    @AfterEach
    void stop() {
        this.redis.close();
    }

    private List<Kind> kindsOf(int pod) {
        return this.changes.stream().filter((change) -> change.podIndex() == pod).map(PodStateChange::kind).toList();
    }

    @Test
    void refreshReportsEachKindOfChange() {
        this.executor.setServiceState(this.ns, "chat", 0, RoutingState.READY, 0);
        this.executor.setServiceState(this.ns, "chat", 1, RoutingState.READY, 0);
        this.cache.view(this.ns, "chat");
        assertThat(this.changes).as("the first read is the baseline").isEmpty();

        this.executor.setServiceState(this.ns, "chat", 2, RoutingState.READY, 0);
        this.executor.setServiceState(this.ns, "chat", 1, RoutingState.DENY_NEW_CALL, 15);
        this.executor.setServiceState(this.ns, "chat", 0, RoutingState.READY, 3);
        this.cache.refresh();
        assertThat(kindsOf(2)).containsExactly(Kind.UP);
        assertThat(kindsOf(1)).containsExactly(Kind.DRAINING, Kind.LOAD_CHANGED);
        assertThat(kindsOf(0)).as("below the load threshold").isEmpty();

        this.changes.clear();
        this.executor.setServiceState(this.ns, "chat", 1, RoutingState.READY, 15);
        this.cache.refresh();
        assertThat(kindsOf(1)).containsExactly(Kind.READY);

        this.changes.clear();
        // only pod 2 keeps heartbeating: pods 0 and 1 die
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> {
            this.executor.setServiceState(this.ns, "chat", 2, RoutingState.SHUTDOWN, 0);
            this.cache.refresh();
            return kindsOf(0).contains(Kind.DOWN) && kindsOf(1).contains(Kind.DOWN);
        });
        assertThat(kindsOf(2)).containsExactly(Kind.SHUTDOWN);
        assertThat(this.changes).filteredOn((change) -> change.kind() == Kind.DOWN)
            .allSatisfy((change) -> assertThat(change.service()).isEqualTo("chat"));
    }
}
