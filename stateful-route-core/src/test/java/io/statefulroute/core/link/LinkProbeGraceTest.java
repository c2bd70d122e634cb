package io.statefulroute.core.link;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A probe's notice comes back on another connection than Redis' answer to the probe's write,
 * so it may arrive a little after the write is answered. A check made just then (one that ran
 * late, right after the previous) must not take the probe for lost; a probe that stays away
 * past the grace still is. Here probe notices are held back by the test, as a busy connection
 * would delay them.
 */
class LinkProbeGraceTest {

    private RedisServer server;

    private TestRedis redis;

    /** Probe notices held back; delivered when the test says. */
    private final List<Runnable> heldProbes = new CopyOnWriteArrayList<>();

    private volatile boolean holdingProbes;

    private StatefulRouteForClientDriver gateway;

    @BeforeEach
    void start() {
        this.server = RedisServers.standalone().start();
        this.redis = TestRedis.on(this.server);
        StatefulExecutor executor = probesHeldBack(this.redis.executor());
        this.gateway = new StatefulRouteForClientDriver(executor,
                new RouteInfoDriver(new ServiceStateCache(executor, Duration.ofSeconds(30)),
                        PodSelectionStrategy.LOAD_AWARE.newSelector()),
                ClientOptions.defaults(TestRedis.freshNamespace()));
        this.gateway.listenForLinkChanges();
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            this.gateway.checkLinkChanges().join();
            return this.gateway.isFollowingLinkChanges();
        });
    }

    @AfterEach
    void stop() {
        this.gateway.stopListeningForLinkChanges();
        this.redis.close();
        this.server.close();
    }

    @Test
    void aCheckRightAfterTheLastProbeLeftWaitsForIt() {
        this.holdingProbes = true;
        this.gateway.checkLinkChanges().join();
        this.gateway.checkLinkChanges().join();
        assertThat(this.gateway.isFollowingLinkChanges()).as("notices trusted after a check right after a probe left")
            .isTrue();

        this.holdingProbes = false;
        this.heldProbes.forEach(Runnable::run);
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).during(Duration.ofMillis(600))
            .until(() -> {
                this.gateway.checkLinkChanges().join();
                return this.gateway.isFollowingLinkChanges();
            });
    }

    @Test
    void aProbeStillAwayAfterTheGraceIsTakenForLost() {
        this.holdingProbes = true;
        this.gateway.checkLinkChanges().join();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> {
            this.gateway.checkLinkChanges().join();
            return !this.gateway.isFollowingLinkChanges();
        });
    }

    /** The executor, with the probe notices of its subscriptions held back while {@link #holdingProbes}. */
    private StatefulExecutor probesHeldBack(StatefulExecutor real) {
        return (StatefulExecutor) Proxy.newProxyInstance(StatefulExecutor.class.getClassLoader(),
                new Class<?>[] { StatefulExecutor.class }, (proxy, method, args) -> {
                    if (method.getName().equals("subscribeLinkChanges")) {
                        return real.subscribeLinkChanges(holdingProbes((LinkChangeListener) args[0]));
                    }
                    try {
                        return method.invoke(real, args);
                    }
                    catch (InvocationTargetException ex) {
                        throw ex.getCause();
                    }
                });
    }

    private LinkChangeListener holdingProbes(LinkChangeListener listener) {
        return new LinkChangeListener() {

            @Override
            public void linkChanged(String namespace, String uid, String service) {
                listener.linkChanged(namespace, uid, service);
            }

            @Override
            public void probeReceived(String token) {
                if (LinkProbeGraceTest.this.holdingProbes) {
                    LinkProbeGraceTest.this.heldProbes.add(() -> listener.probeReceived(token));
                }
                else {
                    listener.probeReceived(token);
                }
            }

            @Override
            public void subscribed() {
                listener.subscribed();
            }
        };
    }
}
