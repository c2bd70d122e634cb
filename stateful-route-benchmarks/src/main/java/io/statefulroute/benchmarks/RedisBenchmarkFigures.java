package io.statefulroute.benchmarks;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import io.lettuce.core.api.StatefulRedisConnection;

import static io.statefulroute.benchmarks.RouteFixture.SERVICE;

/**
 * {@code redis-benchmark} figures for a dedicated server started exactly as the JMH runs
 * start theirs: {@code EVALSHA} of the core's link-if-absent script (new users: random uids
 * out of {@value #UIDS}) and {@code GET}, at 1 and 50 connections, plus pipelined GETs as the
 * server's ceiling.
 *
 * <p>Run: {@code java -cp stateful-route-benchmarks/target/benchmarks.jar
 * io.statefulroute.benchmarks.RedisBenchmarkFigures}
 */
public final class RedisBenchmarkFigures {

    /**
     * redis-benchmark's {@code -r}: it reads the value as an int, and one that overflows makes
     * every {@code __rand_int__} 0 (every call the same, already linked user), so at most 2^31-1.
     */
    private static final int UIDS = 2_000_000_000;

    private RedisBenchmarkFigures() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        try (RouteFixture fixture = RouteFixture.empty(java.time.Duration.ofSeconds(5));
                StatefulRedisConnection<String, String> connection = fixture.newConnection()) {
            String sha = connection.sync().scriptLoad(RouteFixture.coreScript("link_if_absent"));
            connection.sync().set("plain:key", "1");
            String port = Integer.toString(fixture.server.port());
            System.out.printf("redis-benchmark against Redis %s (%s) at %s%n", fixture.server.version(),
                    fixture.server.kind(), fixture.server.uri());
            // the core's link key and arguments: pod, ttl ms, not tracked
            List<String> evalsha = List.of("EVALSHA", sha, "1",
                    RouteFixture.linkKey("__rand_int__", SERVICE), "1", "300000", "0");
            run("EVALSHA link_if_absent, 1 connection", port, 1, 1, 50_000, evalsha);
            run("EVALSHA link_if_absent, 50 connections", port, 50, 1, 200_000, evalsha);
            run("GET, 1 connection", port, 1, 1, 50_000, List.of("GET", "plain:key"));
            run("GET, 50 connections", port, 50, 1, 200_000, List.of("GET", "plain:key"));
            run("GET, 50 connections, pipeline 16", port, 50, 16, 1_000_000, List.of("GET", "plain:key"));
        }
    }

    private static void run(String label, String port, int clients, int pipeline, int requests, List<String> command)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("redis-benchmark", "-h", "127.0.0.1", "-p", port, "-q",
                "-c", Integer.toString(clients), "-P", Integer.toString(pipeline), "-n", Integer.toString(requests),
                "-r", Integer.toString(UIDS)));
        cmd.addAll(command);
        System.out.print(label + ": ");
        System.out.flush();
        Process process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        process.waitFor();
        // -q prints progress with carriage returns; keep the final line only.
        String[] lines = output.split("[\r\n]+");
        String last = lines[lines.length - 1].trim();
        System.out.println(last.substring(last.lastIndexOf(": ") + 2));
    }
}
