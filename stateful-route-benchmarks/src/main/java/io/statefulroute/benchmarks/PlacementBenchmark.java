package io.statefulroute.benchmarks;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.balance.ZonePreference;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.PodPlacement;
import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.ServiceView;
import io.statefulroute.core.state.WarmUp;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Issue 23: what choosing a new user's pod costs in memory, per step of the placement, on views
 * of 8 pods read from a real Redis: none of the steps (the plain selection every new user paid
 * before), capacities declared, the gateway's zone preferred, and one pod warming up (plus
 * capacities and the zone). No Redis call is measured: the pick is the new user's CPU work before
 * its one round trip. Run with {@code -prof gc}: every case but the warm-up should allocate
 * nothing; a warming pod allocates only when it gives a user back.
 *
 * <p>Run: {@code java -jar stateful-route-benchmarks/target/benchmarks.jar PlacementBenchmark -prof gc}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = { "-Xms1g", "-Xmx1g" })
public class PlacementBenchmark {

    private static final String NAMESPACE = "prod";

    private static final int PODS = 8;

    private RedisServer server;

    private RedisClient client;

    private RedisStatefulExecutor executor;

    private ServiceView plain;

    private ServiceView capacities;

    private ServiceView zones;

    private ServiceView warming;

    private RouteInfoDriver anyZone;

    private RouteInfoDriver zoneA;

    @Setup(Level.Trial)
    public void setUp() {
        this.server = RedisServers.standalone().start();
        this.client = RedisClient.create(this.server.uri());
        this.executor = RedisStatefulExecutor.builder()
            .connector(() -> this.client.connect(StringCodec.UTF8))
            .commandTimeout(Duration.ofSeconds(30))
            .build();
        for (int pod = 0; pod < PODS; pod++) {
            PodAddress address = new PodAddress("http", "10.0.0." + (pod + 1), 8080,
                    Map.of(PodAddress.ZONE, (pod % 2 == 0) ? "a" : "b"));
            // pod 0, in zone a and the least loaded, just became routable: the herd a warm-up holds back
            WarmUp warmUp = (pod == 0) ? WarmUp.linear(Duration.ofHours(1)) : WarmUp.NONE;
            publish("plain", pod, null, new PodPlacement(100, PodCapacity.UNLIMITED));
            publish("capacities", pod, null, new PodPlacement(100, PodCapacity.ofUsers(5_000)));
            publish("zones", pod, address, new PodPlacement(100, PodCapacity.ofUsers(5_000)));
            publish("warming", pod, address, new PodPlacement(100, PodCapacity.ofUsers(5_000),
                    warmUp.isEnabled() ? 0 : -1, warmUp));
        }
        // views that stay fresh for the whole run: the pods' expiry is an hour
        ServiceStateCache states = new ServiceStateCache(this.executor, Duration.ofHours(1));
        this.plain = states.view(NAMESPACE, "plain");
        this.capacities = states.view(NAMESPACE, "capacities");
        this.zones = states.view(NAMESPACE, "zones");
        this.warming = states.view(NAMESPACE, "warming");
        this.anyZone = new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector());
        this.zoneA = new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector(),
                ZonePreference.of("a"));
        if (!this.warming.isWarmingUp()) {
            throw new IllegalStateException("pod 0 of the warming view should be warming up");
        }
    }

    private void publish(String service, int pod, PodAddress address, PodPlacement placement) {
        this.executor.heartbeatAsync(NAMESPACE, service, pod, RoutingState.READY, pod, null, address, null, placement)
            .join();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        this.executor.close();
        this.client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        this.server.close();
    }

    /** Pods that declare nothing, a gateway without a zone: the selection strategy alone. */
    @Benchmark
    public PodState plain() {
        return this.anyZone.select(this.plain);
    }

    /** Every pod declares a user capacity: each is checked for room. */
    @Benchmark
    public PodState capacities() {
        return this.anyZone.select(this.capacities);
    }

    /** Capacities, and the gateway prefers its zone (half the pods). */
    @Benchmark
    public PodState zone() {
        return this.zoneA.select(this.zones);
    }

    /** Capacities, the zone, and one pod of the zone warming up at a tenth of its share. */
    @Benchmark
    public PodState warmingUp() {
        return this.zoneA.select(this.warming);
    }
}
