package io.statefulroute.benchmarks.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * One Spring Cloud Gateway in front of three pod web servers, all on loopback and on a
 * dedicated Redis, measured through two routes of the same gateway to the same pods:
 * {@code /sr/**} to {@code lb://bench} (the stateful-route balancer: the request's
 * {@code X-User-Id} header picks the user's pod, a new user is linked) and {@code /rr/**}
 * to {@code lb://bench-rr} (Spring Cloud LoadBalancer's default round robin over a static
 * {@code SimpleDiscoveryClient} list of the same three pods; the stateful-route balancer
 * is limited to {@code bench} by {@code stateful-route.loadbalancer.services}).
 *
 * <p>Load: {@code wrk} (closed loop, fixed connections, fixed duration) with a Lua script
 * giving every request a user: by default 95 % returning users drawn uniformly from
 * 10,000 (linked during the warm-up) and 5 % users never seen before. Both routes get the
 * same script, so both pay for the same header. The pair is measured {@code rounds} times,
 * alternating which route goes first; every round is printed, then the range and the median
 * of the per-round ratios. Under each run, what {@link TailProbe} saw in the JVM during it: the
 * balancer's decisions by outcome, how long work waited for an event loop, and GC pauses, so a
 * tail that one route adds can be traced to its source.
 *
 * <p>Run: {@code java -cp stateful-route-benchmarks/target/benchmarks.jar
 * io.statefulroute.benchmarks.gateway.GatewayBenchmark [rounds=4] [duration=20]
 * [warmup=10] [connections=16] [threads=1] [users=10000] [newPercent=5]}
 * (needs {@code wrk} on the PATH).
 */
public final class GatewayBenchmark {

    private static final Pattern RESULT = Pattern.compile("RESULT requests=(\\d+) duration_us=(\\d+) p50_us=(\\d+) "
            + "p90_us=(\\d+) p99_us=(\\d+) max_us=(\\d+) non2xx=(\\d+) socket_errors=(\\d+)");

    private GatewayBenchmark() {
    }

    record Figures(String route, double requestsPerSecond, long p50Micros, long p90Micros, long p99Micros,
            long maxMicros, long non2xx, long socketErrors, String load, TailProbe.Interval tail) {

        @Override
        public String toString() {
            return String.format("%-3s %9.0f req/s  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %7.2f ms  "
                    + "non-2xx %d  socket errors %d  (load %s)", this.route, this.requestsPerSecond,
                    this.p50Micros / 1000.0, this.p90Micros / 1000.0, this.p99Micros / 1000.0, this.maxMicros / 1000.0,
                    this.non2xx, this.socketErrors, this.load) + "\n        in the JVM: " + this.tail.describe();
        }

    }

    public static void main(String[] args) throws Exception {
        Map<String, Integer> options = options(args);
        Path script = Files.createTempFile("gateway-benchmark", ".lua");
        try (InputStream lua = GatewayBenchmark.class.getResourceAsStream("/gateway/users.lua")) {
            Files.write(script, lua.readAllBytes());
        }
        try (RedisServer redis = RedisServers.standalone().start()) {
            List<ConfigurableApplicationContext> contexts = new ArrayList<>();
            try {
                measure(redis, options, script, contexts);
            }
            finally {
                // gateway first, then the pods, all before their Redis stops
                for (int i = contexts.size() - 1; i >= 0; i--) {
                    contexts.get(i).close();
                }
            }
        }
        finally {
            Files.deleteIfExists(script);
        }
    }

    private static void measure(RedisServer redis, Map<String, Integer> options, Path script,
            List<ConfigurableApplicationContext> contexts) throws IOException, InterruptedException {
        int rounds = options.get("rounds");
        int duration = options.get("duration");
        String keyPrefix = "gwbench-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, Object> gateway = new LinkedHashMap<>();
        gateway.put("stateful-route.loadbalancer.services", "bench");
        gateway.put("spring.cloud.gateway.server.webflux.routes[0].id", "stateful-route");
        gateway.put("spring.cloud.gateway.server.webflux.routes[0].uri", "lb://bench");
        gateway.put("spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/sr/**");
        gateway.put("spring.cloud.gateway.server.webflux.routes[1].id", "round-robin");
        gateway.put("spring.cloud.gateway.server.webflux.routes[1].uri", "lb://bench-rr");
        gateway.put("spring.cloud.gateway.server.webflux.routes[1].predicates[0]", "Path=/rr/**");
        for (int pod = 0; pod < 3; pod++) {
            ConfigurableApplicationContext context = run(BenchmarkPodApplication.class, redis, keyPrefix, Map.of(
                    "stateful-route.server.service", "bench",
                    "stateful-route.server.pod-index", pod,
                    "stateful-route.server.advertised-address.host", "127.0.0.1",
                    "stateful-route.server.drain-period", "100ms",
                    "stateful-route.loadbalancer.enabled", false));
            contexts.add(context);
            gateway.put("spring.cloud.discovery.client.simple.instances.bench-rr[" + pod + "].uri",
                    "http://127.0.0.1:" + port(context));
        }
        ConfigurableApplicationContext gatewayContext = run(BenchmarkGatewayApplication.class, redis, keyPrefix,
                gateway);
        contexts.add(gatewayContext);
        String base = "http://127.0.0.1:" + port(gatewayContext);
        awaitThreePods(base);
        TailProbe probe = gatewayContext.getBean(TailProbe.class);
        probe.start();
        List<Figures[]> pairs = new ArrayList<>();
        try {
            System.out.printf("Gateway benchmark: %d cores, java %s, Redis %s (%s); %d connections, %d wrk thread(s), "
                    + "%d s per run; users: %d %% new, the rest returning out of %d%n",
                    Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), redis.version(),
                    redis.kind(), options.get("connections"), options.get("threads"), duration,
                    options.get("newPercent"), options.get("users"));
            // warm-up: links the returning users, then runs both routes with the measured mix
            wrk(base, "/sr/hello", options, options.get("warmup"), 0, script, probe);
            wrk(base, "/sr/hello", options, options.get("warmup"), options.get("newPercent"), script, probe);
            wrk(base, "/rr/hello", options, options.get("warmup"), options.get("newPercent"), script, probe);
            for (int round = 0; round < rounds; round++) {
                boolean statefulFirst = round % 2 == 0;
                Figures first = wrk(base, statefulFirst ? "/sr/hello" : "/rr/hello", options, duration,
                        options.get("newPercent"), script, probe);
                System.out.println("  round " + (round + 1) + " " + first);
                Figures second = wrk(base, statefulFirst ? "/rr/hello" : "/sr/hello", options, duration,
                        options.get("newPercent"), script, probe);
                System.out.println("  round " + (round + 1) + " " + second);
                pairs.add(statefulFirst ? new Figures[] {first, second} : new Figures[] {second, first});
            }
        }
        finally {
            // no probe task may keep the event loops from their quiet period when the contexts close
            probe.close();
        }
        summarize(pairs);
    }

    private static Map<String, Integer> options(String[] args) {
        Map<String, Integer> options = new LinkedHashMap<>(Map.of("rounds", 4, "duration", 20, "warmup", 10,
                "connections", 16, "threads", 1, "users", 10_000, "newPercent", 5));
        for (String arg : args) {
            String[] pair = arg.split("=", 2);
            if (pair.length != 2 || !options.containsKey(pair[0])) {
                throw new IllegalArgumentException("unknown option '" + arg + "'; options: " + options.keySet());
            }
            options.put(pair[0], Integer.parseInt(pair[1]));
        }
        return options;
    }

    private static ConfigurableApplicationContext run(Class<?> application, RedisServer redis, String keyPrefix,
            Map<String, Object> properties) {
        Map<String, Object> all = new HashMap<>(properties);
        all.put("server.port", 0);
        all.put("spring.data.redis.host", redis.host());
        all.put("spring.data.redis.port", redis.port());
        all.put("stateful-route.key-prefix", keyPrefix);
        all.put("stateful-route.namespace", "bench");
        all.put("spring.main.banner-mode", "off");
        all.put("logging.level.root", "WARN");
        return new SpringApplicationBuilder(application).web(WebApplicationType.REACTIVE).properties(all).run();
    }

    private static int port(ConfigurableApplicationContext context) {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    /** Waits (bounded) until the gateway has seen the heartbeats of the three pods. */
    private static void awaitThreePods(String base) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        Set<String> seen = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        for (int user = 0; seen.size() < 3; user++) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the gateway did not reach 3 pods in 60 s; it reached " + seen);
            }
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/sr/hello"))
                .header("X-User-Id", "probe-" + user).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 200) {
                seen.add(response.body());
            }
            else {
                Thread.sleep(100);
            }
        }
    }

    private static Figures wrk(String base, String path, Map<String, Integer> options, int seconds, int newPercent,
            Path script, TailProbe probe) throws IOException, InterruptedException {
        String load = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        List<String> command = List.of("wrk", "-t" + options.get("threads"), "-c" + options.get("connections"),
                "-d" + seconds + "s", "--timeout", "5s", "-s", script.toString(), base, "--", path,
                Integer.toString(options.get("users")), Integer.toString(newPercent),
                UUID.randomUUID().toString().substring(0, 8));
        probe.reset();
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        TailProbe.Interval tail = probe.interval();
        if (process.waitFor() != 0) {
            throw new IllegalStateException("wrk failed: " + output);
        }
        Matcher result = RESULT.matcher(output);
        if (!result.find()) {
            throw new IllegalStateException("no RESULT line in wrk's output: " + output);
        }
        double requestsPerSecond = Long.parseLong(result.group(1)) * 1_000_000.0 / Long.parseLong(result.group(2));
        return new Figures(path.startsWith("/sr") ? "sr" : "rr", requestsPerSecond, Long.parseLong(result.group(3)),
                Long.parseLong(result.group(4)), Long.parseLong(result.group(5)), Long.parseLong(result.group(6)),
                Long.parseLong(result.group(7)), Long.parseLong(result.group(8)), load, tail);
    }

    private static void summarize(List<Figures[]> pairs) {
        System.out.println("Per round: stateful-route (sr) against round robin (rr) measured next to it");
        List<Double> ratios = new ArrayList<>();
        List<Double> addedP50 = new ArrayList<>();
        List<Double> addedP99 = new ArrayList<>();
        for (int round = 0; round < pairs.size(); round++) {
            Figures stateful = pairs.get(round)[0];
            Figures roundRobin = pairs.get(round)[1];
            ratios.add(stateful.requestsPerSecond() / roundRobin.requestsPerSecond() * 100);
            addedP50.add((stateful.p50Micros() - roundRobin.p50Micros()) / 1000.0);
            addedP99.add((stateful.p99Micros() - roundRobin.p99Micros()) / 1000.0);
            System.out.printf("  round %d (%s first): throughput sr/rr %.1f %%, added p50 %+.2f ms, added p99 %+.2f ms%n",
                    round + 1, round % 2 == 0 ? "sr" : "rr", ratios.get(round), addedP50.get(round),
                    addedP99.get(round));
        }
        System.out.printf("Over %d rounds (min / median / max): throughput sr/rr %s %% (target >= 90 %%), "
                + "added p50 %s ms, added p99 %s ms (target < 1 ms)%n", pairs.size(), spread(ratios, "%.1f"),
                spread(addedP50, "%+.2f"), spread(addedP99, "%+.2f"));
    }

    private static String spread(List<Double> values, String format) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        return String.format(format + " / " + format + " / " + format, sorted.get(0), median, sorted.get(n - 1));
    }

}
