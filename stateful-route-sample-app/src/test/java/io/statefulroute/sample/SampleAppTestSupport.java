package io.statefulroute.sample;

import java.util.List;
import java.util.UUID;

import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;
import org.junit.jupiter.api.AfterEach;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The sample on a real Redis (so its embedded default is off), with short periods and no
 * demo load. Subclasses share one application context.
 */
@SpringBootTest(classes = LobbyApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
abstract class SampleAppTestSupport {

    static final RedisServer redis = RedisServers.shared();

    /** Fresh keys for every run, so no pod of an earlier run shows up. */
    private static final String KEY_PREFIX = "sample-" + UUID.randomUUID().toString().substring(0, 8);

    @LocalServerPort
    int port;

    @Autowired
    Gateway gateway;

    @Autowired
    LobbyPods pods;

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("spring.data.redis.host", redis::host);
        registry.add("spring.data.redis.port", redis::port);
        registry.add("stateful-route.key-prefix", () -> KEY_PREFIX);
        registry.add("stateful-route.server.heartbeat-period", () -> "200ms");
        registry.add("stateful-route.state.refresh-period", () -> "200ms");
        registry.add("stateful-route.state.pod-expiry", () -> "2s");
        // the pod lease (pod expiry minus a fifth) must outlast a heartbeat period plus the command timeout
        registry.add("stateful-route.command-timeout", () -> "1s");
        registry.add("sample.demo.enabled", () -> false);
    }

    /** Every player leaves and every pod is back to READY, so each test starts from empty pods. */
    @AfterEach
    void resetPods() {
        List.copyOf(this.gateway.players()).forEach(this.gateway::leave);
        for (LobbyPod pod : this.pods.all()) {
            if (pod.isDead()) {
                pod.restart();
            }
            if (pod.isFrozen()) {
                pod.thaw();
            }
            pod.undrain();
        }
    }

}
