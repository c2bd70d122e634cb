package io.statefulroute.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.RouteArguments;
import io.statefulroute.core.balance.PodSelectionStrategy;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.WarmUp;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

/**
 * Issue 23: the share of new users a pod gets in the seconds after it joins busy pods, without
 * and with a warm-up. Pods and gateways are in-JVM drivers on one local redis-server, as in
 * production: {@code pods} pods heartbeat every second, each publishing the users it holds as its
 * load; {@code gateways} gateways, each with its own connection, state cache (refreshed every
 * second, the gateways a quarter second apart) and link cache, route a steady stream of
 * {@code rate} new users a second in turn, load-aware; every user is taken by its pod on arrival
 * and leaves it {@code session} seconds later. After {@code settle} seconds one more pod joins;
 * for {@code seconds} seconds the run records which pod each new user went to. Once without a
 * warm-up, once with the new pod warming up linearly for {@code warmup} seconds from a tenth of
 * its share (Envoy's slow start defaults), each on a fresh server.
 *
 * <p>Prints, per second after the join, the new pod's share of that second's new users in both
 * runs; its fair share is {@code 1 / (pods + 1)}.
 *
 * <p>Run: {@code java -cp stateful-route-benchmarks/target/benchmarks.jar
 * io.statefulroute.benchmarks.WarmUpShare [pods=3] [gateways=4] [rate=200] [session=60] [settle=60]
 * [seconds=60] [warmup=30]}
 */
public final class WarmUpShare {

    private static final String NAMESPACE = "prod";

    private static final String SERVICE = "lobby";

    private WarmUpShare() {
    }

    public static void main(String[] args) throws Exception {
        Settings settings = Settings.parse(args);
        System.out.printf(Locale.ROOT, "%d pods, %d gateways, %d new users/s, sessions of %d s; a pod joins after %d s%n",
                settings.pods, settings.gateways, settings.rate, settings.session, settings.settle);
        double[] without = run(settings, WarmUp.NONE);
        double[] with = run(settings, WarmUp.linear(Duration.ofSeconds(settings.warmup)));
        System.out.printf(Locale.ROOT, "%nNew pod's share of each second's new users (fair share %.1f %%)%n",
                100.0 / (settings.pods + 1));
        System.out.printf(Locale.ROOT, "%6s %14s %22s%n", "second", "no warm-up", settings.warmup + " s warm-up");
        for (int second = 0; second < settings.seconds; second++) {
            System.out.printf(Locale.ROOT, "%6d %13.1f%% %21.1f%%%n", second + 1, 100 * without[second],
                    100 * with[second]);
        }
    }

    /** One run on a fresh server: the new pod's share of the new users of each second after it joined. */
    private static double[] run(Settings settings, WarmUp warmUp) throws Exception {
        try (RedisServer server = RedisServers.standalone().start()) {
            RedisClient client = RedisClient.create(server.uri());
            List<RedisStatefulExecutor> executors = new ArrayList<>();
            ScheduledExecutorService ticks = Executors.newScheduledThreadPool(2);
            ExecutorService arrivals = Executors.newFixedThreadPool(8);
            List<StatefulRouteForServerDriver> all = new ArrayList<>();
            try {
                RedisStatefulExecutor podExecutor = executor(client, executors);
                List<StatefulRouteForServerDriver> pods = new ArrayList<>();
                for (int index = 0; index < settings.pods; index++) {
                    pods.add(startPod(podExecutor, index, warmUp, ticks));
                }
                List<StatefulRouteForClientDriver> gateways = new ArrayList<>();
                for (int index = 0; index < settings.gateways; index++) {
                    RedisStatefulExecutor executor = executor(client, executors);
                    ServiceStateCache states = new ServiceStateCache(executor, Duration.ofSeconds(5));
                    states.keepInView(NAMESPACE, SERVICE);
                    ticks.scheduleAtFixedRate(states::refreshAsync, 250L * index, 1_000, TimeUnit.MILLISECONDS);
                    gateways.add(new StatefulRouteForClientDriver(executor,
                            new RouteInfoDriver(states, PodSelectionStrategy.LOAD_AWARE.newSelector()),
                            ClientOptions.defaults(NAMESPACE)));
                }
                all.addAll(pods);
                AtomicLong joinedAtNanos = new AtomicLong(Long.MAX_VALUE);
                AtomicLongArray toNewPod = new AtomicLongArray(settings.seconds);
                AtomicLongArray toAny = new AtomicLongArray(settings.seconds);
                AtomicInteger users = new AtomicInteger();
                int perTick = Math.max(1, settings.rate / 100);
                ticks.scheduleAtFixedRate(() -> {
                    for (int i = 0; i < perTick; i++) {
                        int user = users.getAndIncrement();
                        String uid = "user-" + user;
                        gateways.get(user % gateways.size()).computeLinkedPodAsync(NAMESPACE, uid, SERVICE)
                            .thenAcceptAsync((pod) -> {
                                StatefulRouteForServerDriver taker = all.get(pod);
                                taker.setLinkedPod(uid, RouteArguments.PERSIST_FOREVER);
                                ticks.schedule(() -> arrivals.execute(() -> taker.removeLinkedPod(uid, 0)),
                                        settings.session, TimeUnit.SECONDS);
                                long second = (System.nanoTime() - joinedAtNanos.get()) / 1_000_000_000L;
                                if (second >= 0 && second < settings.seconds) {
                                    toAny.incrementAndGet((int) second);
                                    if (pod == settings.pods) {
                                        toNewPod.incrementAndGet((int) second);
                                    }
                                }
                            }, arrivals);
                    }
                }, 0, 10, TimeUnit.MILLISECONDS);
                Thread.sleep(settings.settle * 1_000L);
                all.add(startPod(podExecutor, settings.pods, warmUp, ticks));
                joinedAtNanos.set(System.nanoTime());
                Thread.sleep((settings.seconds + 1) * 1_000L);
                double[] shares = new double[settings.seconds];
                for (int second = 0; second < settings.seconds; second++) {
                    shares[second] = (toAny.get(second) == 0) ? 0 : (double) toNewPod.get(second) / toAny.get(second);
                }
                System.out.printf(Locale.ROOT, "%s: the new pod holds %d users after %d s; the others %s%n",
                        warmUp.isEnabled() ? "warm-up " + warmUp.duration().toSeconds() + " s" : "no warm-up",
                        all.get(settings.pods).heldUsers().size(), settings.seconds,
                        pods.stream().map((pod) -> pod.heldUsers().size()).toList());
                return shares;
            }
            finally {
                ticks.shutdownNow();
                arrivals.shutdownNow();
                // before the server goes: a pod left running would report its lease lost
                all.forEach(StatefulRouteForServerDriver::stop);
                executors.forEach(RedisStatefulExecutor::close);
                client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }
        }
    }

    private static RedisStatefulExecutor executor(RedisClient client, List<RedisStatefulExecutor> executors) {
        RedisStatefulExecutor executor = RedisStatefulExecutor.builder()
            .connector(() -> client.connect(StringCodec.UTF8))
            .commandTimeout(Duration.ofSeconds(30))
            .build();
        executors.add(executor);
        return executor;
    }

    /** A started pod that publishes the users it holds as its load, every second. */
    private static StatefulRouteForServerDriver startPod(RedisStatefulExecutor executor, int index, WarmUp warmUp,
            ScheduledExecutorService ticks) {
        StatefulRouteForServerDriver pod = new StatefulRouteForServerDriver(executor,
                new ServerOptions(new PodIdentity(NAMESPACE, SERVICE, index), 0, Duration.ZERO).withWarmUp(warmUp));
        pod.start();
        ticks.scheduleAtFixedRate(() -> {
            pod.setLoadState(pod.heldUsers().size());
            pod.heartbeatAsync();
        }, 1_000, 1_000, TimeUnit.MILLISECONDS);
        return pod;
    }

    private record Settings(int pods, int gateways, int rate, int session, int settle, int seconds, int warmup) {

        static Settings parse(String[] args) {
            int[] values = { 3, 4, 200, 60, 60, 60, 30 };
            String[] names = { "pods", "gateways", "rate", "session", "settle", "seconds", "warmup" };
            for (String arg : args) {
                int eq = arg.indexOf('=');
                for (int i = 0; i < names.length; i++) {
                    if (eq > 0 && arg.substring(0, eq).equals(names[i])) {
                        values[i] = Integer.parseInt(arg.substring(eq + 1));
                    }
                }
            }
            return new Settings(values[0], values[1], values[2], values[3], values[4], values[5], values[6]);
        }
    }
}
