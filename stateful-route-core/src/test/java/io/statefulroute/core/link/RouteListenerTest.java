package io.statefulroute.core.link;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.statefulroute.core.NoRoutablePodException;
import io.statefulroute.core.RedisUnavailableException;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.redis.RedisCallListener;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Every routing decision and Redis operation reaches the listeners with its outcome. */
class RouteListenerTest {

    private final List<String> decisions = new CopyOnWriteArrayList<>();

    private final List<String> operations = new CopyOnWriteArrayList<>();

    /** The same decisions, blocking and async: the async ones complete on the I/O thread. */
    @ParameterizedTest
    @ValueSource(booleans = { false, true })
    void outcomesOfEachKindOfDecision(boolean async) throws Exception {
        try (RedisServer server = RedisServers.standalone().start(); TestRedis redis = TestRedis.on(server)) {
            StatefulExecutor setup = redis.executor();
            RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
                .ownedConnection(redis.connect())
                .commandTimeout(Duration.ofMillis(500))
                .keyPrefix("test")
                .callListener(new RedisCallListener() {
                    @Override
                    public Object started(String operation) {
                        return operation + "-token";
                    }

                    @Override
                    public void finished(Object token, String operation, long nanos, Throwable error) {
                        assertThat(token).isEqualTo(operation + "-token");
                        RouteListenerTest.this.operations.add(operation + (error == null ? "" : "!"));
                    }
                })
                .build();
            ServiceStateCache states = new ServiceStateCache(executor, Duration.ofSeconds(1));
            StatefulRouteForClientDriver client = new StatefulRouteForClientDriver(executor,
                    new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector()),
                    ClientOptions.defaults("ns"), new RouteListener() {
                        @Override
                        public void cacheHit(String namespace, String service, long nanos) {
                            RouteListenerTest.this.decisions.add(service + ":CACHE_HIT");
                        }

                        @Override
                        public void resolved(Object token, String namespace, String service, RouteOutcome outcome,
                                long nanos, Throwable error) {
                            assertThat(nanos).isPositive();
                            RouteListenerTest.this.decisions.add(service + ":" + outcome);
                        }
                    });
            setup.setServiceState("ns", "chat", 0, RoutingState.READY, 0);
            setup.setServiceState("ns", "chat", 1, RoutingState.READY, 0);
            setup.setLinkedPod("ns", "old", "chat", 1, RouteArguments.PERSIST_FOREVER);

            Router router = (namespace, uid, service) -> async ? awaitAsync(client, namespace, uid, service)
                    : client.computeLinkedPod(namespace, uid, service);

            router.route("ns", "new", "chat");
            router.route("ns", "new", "chat");
            router.route("ns", "old", "chat");
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> {
                setup.setServiceState("ns", "chat", 0, RoutingState.READY, 0);
                states.refresh();
                // dead, and for longer than the relink grace: its lease has certainly lapsed
                return states.cachedView("ns", "chat").mayRelinkFrom(1);
            });
            client.cacheExpired("ns", "old", "chat");
            assertThat(router.route("ns", "old", "chat")).isZero();
            assertThatThrownBy(() -> router.route("ns", "x", "empty")).isInstanceOf(NoRoutablePodException.class);
            server.stop();
            assertThatThrownBy(() -> router.route("ns", "y", "chat")).isInstanceOf(RedisUnavailableException.class);

            await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(this.decisions).hasSize(6));
            assertThat(this.decisions).containsExactly("chat:NEW_LINK", "chat:CACHE_HIT", "chat:EXISTING_LINK",
                    "chat:RELINKED", "empty:NO_ROUTABLE_POD", "chat:ERROR");
            assertThat(this.operations).contains("getServiceState", "setLinkedPodIfAbsent", "compareAndSetLinkedPod",
                    "setLinkedPodIfAbsent!");
            // a service without any pod is refused without reading a link
            assertThat(this.operations).doesNotContain("getLinkedPod");
        }
    }

    private interface Router {

        int route(String namespace, String uid, String service) throws Exception;
    }

    /** The async call's outcome as the blocking call reports it; a failure reaches stages as a CompletionException. */
    private static int awaitAsync(StatefulRouteForClientDriver client, String namespace, String uid, String service)
            throws Exception {
        CompletableFuture<Integer> call = client.computeLinkedPodAsync(namespace, uid, service);
        Throwable seenByStages = call.handle((pod, ex) -> ex).get(5, TimeUnit.SECONDS);
        if (seenByStages == null) {
            return call.join();
        }
        assertThat(seenByStages).isInstanceOf(CompletionException.class);
        throw (Exception) seenByStages.getCause();
    }
}
