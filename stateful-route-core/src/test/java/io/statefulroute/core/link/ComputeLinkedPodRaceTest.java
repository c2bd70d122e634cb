package io.statefulroute.core.link;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.statefulroute.core.TestRedis;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 64 gateways, each with its own connection, state cache and link cache, route the same
 * 1,000 new users at the same moment. RANDOM selection makes their candidates disagree, so
 * only the atomic link-if-absent can make their answers agree.
 */
class ComputeLinkedPodRaceTest {

    private static final int GATEWAYS = 64;

    private static final int USERS = 1_000;

    @Test
    void racingGatewaysAllGetTheOnePodEachUserIsLinkedTo() throws Exception {
        String ns = TestRedis.freshNamespace();
        try (TestRedis redis = TestRedis.on(RedisServers.shared())) {
            StatefulExecutor setup = redis.executor();
            for (int pod = 0; pod < 8; pod++) {
                setup.setServiceState(ns, "game", pod, RoutingState.READY, 0);
            }
            List<StatefulRouteForClientDriver> gateways = new ArrayList<>();
            for (int i = 0; i < GATEWAYS; i++) {
                StatefulExecutor executor = redis.executor(Duration.ofSeconds(10));
                ServiceStateCache states = new ServiceStateCache(executor, Duration.ofSeconds(30));
                gateways.add(new StatefulRouteForClientDriver(executor,
                        new RouteInfoDriver(states, PodSelectionStrategy.RANDOM.newSelector()),
                        ClientOptions.defaults(ns)));
            }

            ExecutorService threads = Executors.newFixedThreadPool(GATEWAYS);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<int[]>> answers = new ArrayList<>();
            for (StatefulRouteForClientDriver gateway : gateways) {
                answers.add(threads.submit(() -> {
                    go.await();
                    int[] pods = new int[USERS];
                    for (int user = 0; user < USERS; user++) {
                        pods[user] = gateway.computeLinkedPod(ns, "user-" + user, "game");
                    }
                    return pods;
                }));
            }
            go.countDown();

            List<int[]> results = new ArrayList<>();
            for (Future<int[]> answer : answers) {
                results.add(answer.get(2, TimeUnit.MINUTES));
            }
            threads.shutdown();

            List<String> users = new ArrayList<>();
            for (int user = 0; user < USERS; user++) {
                users.add("user-" + user);
            }
            var linked = setup.batchGetLinkedPod(ns, users, "game");
            assertThat(linked.values().stream().mapToInt(List::size).sum()).as("every user linked exactly once")
                .isEqualTo(USERS);
            int[] inRedis = new int[USERS];
            linked.forEach((pod, uids) -> uids.forEach((uid) -> inRedis[Integer.parseInt(uid.substring(5))] = pod));
            for (int[] gatewayAnswers : results) {
                assertThat(gatewayAnswers).isEqualTo(inRedis);
            }
            assertThat(linked.keySet()).as("RANDOM spread the users").hasSizeGreaterThan(4);
        }
    }
}
