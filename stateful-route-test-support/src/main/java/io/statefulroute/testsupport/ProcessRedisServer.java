package io.statefulroute.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.net.SocketFactory;

/**
 * A {@code redis-server} child process (from the PATH or extracted from the embedded-redis jar)
 * bound to 127.0.0.1, with its own temp directory holding data files and {@code redis.log}.
 */
final class ProcessRedisServer implements RedisServer {

    static final String HOST = "127.0.0.1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    private static final Set<ProcessRedisServer> OPEN = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ProcessRedisServer::closeAll, "redis-test-servers-cleanup"));
    }

    private final Backends.Binary binary;
    private final List<String> args;
    private final Path dir;
    private final int port;
    /** Null for a plain server. */
    private final TlsSettings tls;
    /** Contents of the config file given as first argument (a Sentinel needs one it can rewrite); null for none. */
    private final String config;
    private final SocketFactory sockets;
    private volatile Process process;
    private String version;
    private boolean closed;

    private ProcessRedisServer(Backends.Binary binary, List<String> args, Path dir, int port, TlsSettings tls,
            String config) {
        this.binary = binary;
        this.args = args;
        this.dir = dir;
        this.port = port;
        this.tls = tls;
        this.config = config;
        this.sockets = (tls != null) ? tls.socketFactory() : SocketFactory.getDefault();
    }

    /**
     * Starts a new server on a free port. If another process grabs the port between choosing and
     * binding it, retries with another port.
     */
    static ProcessRedisServer launch(Backends.Binary binary, List<String> extraArgs) {
        return launch(binary, extraArgs, null);
    }

    /** Like {@link #launch(Backends.Binary, List)}, serving TLS only when {@code tls} is not null. */
    static ProcessRedisServer launch(Backends.Binary binary, List<String> extraArgs, TlsSettings tls) {
        return launch(binary, extraArgs, tls, null);
    }

    /**
     * A Redis Sentinel ({@code redis-server <config> --sentinel}) whose config file starts as
     * {@code config}; Sentinel rewrites the file as it learns the topology.
     */
    static ProcessRedisServer launchSentinel(Backends.Binary binary, String config) {
        return launch(binary, List.of("--sentinel"), null, config);
    }

    private static ProcessRedisServer launch(Backends.Binary binary, List<String> extraArgs, TlsSettings tls,
            String config) {
        IllegalStateException failure = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            ProcessRedisServer server;
            try {
                server = new ProcessRedisServer(binary, extraArgs, Files.createTempDirectory("redis-test-"), FreePorts.next(),
                        tls, config);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot create a temp directory for Redis", e);
            }
            OPEN.add(server);
            try {
                server.start();
                return server;
            } catch (IllegalStateException e) {
                boolean portTaken = server.logTail().contains("Address already in use");
                server.close();
                if (!portTaken) {
                    throw e;
                }
                failure = e;
            }
        }
        throw failure;
    }

    @Override
    public String host() {
        return HOST;
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public String uri() {
        return (tls != null ? "rediss://" : "redis://") + HOST + ":" + port;
    }

    @Override
    public String kind() {
        return binary.kind();
    }

    @Override
    public synchronized String version() {
        return version;
    }

    /** The temp directory with data files, {@code nodes.conf} and {@code redis.log}. */
    Path dir() {
        return dir;
    }

    @Override
    public synchronized void start() {
        if (closed) {
            throw new IllegalStateException("Redis server on port " + port + " is closed");
        }
        if (isRunning()) {
            return;
        }
        try {
            if (config != null && !Files.exists(configFile())) {
                Files.writeString(configFile(), config, StandardCharsets.UTF_8);
            }
            process = new ProcessBuilder(command())
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("Cannot run " + binary.path() + ": " + e.getMessage(), e);
        }
        Process started = process;
        boolean up = Poll.await(START_TIMEOUT, () -> !started.isAlive() || Resp.ping(sockets, HOST, port)) && started.isAlive();
        if (!up) {
            String state = started.isAlive() ? "did not answer PING within " + START_TIMEOUT.toSeconds() + " s"
                    : "exited with code " + started.exitValue();
            stopProcess();
            throw new IllegalStateException("Redis (" + kind() + ", " + binary.path() + ") on port " + port + " " + state
                    + ". Command: " + String.join(" ", command()) + "\nLog tail:\n" + logTail());
        }
        if (version == null) {
            try {
                version = Resp.infoField(String.valueOf(Resp.call(sockets, HOST, port, "INFO", "server")), "redis_version");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Override
    public synchronized void stop() {
        stopProcess();
    }

    @Override
    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    @Override
    public synchronized void kill() {
        Process p = process;
        if (p == null) {
            return;
        }
        try {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    @Override
    public synchronized void freeze() {
        signal("STOP");
    }

    @Override
    public synchronized void thaw() {
        signal("CONT");
    }

    private void signal(String name) {
        Process p = process;
        if (p == null) {
            throw new IllegalStateException("Redis on port " + port + " is not running");
        }
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + name + " " + p.pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            stopProcess();
            deleteRecursively(dir);
        }
        OPEN.remove(this);
    }

    @Override
    public String toString() {
        return kind() + " " + version + " on " + HOST + ":" + port + (tls != null ? " (TLS)" : "");
    }

    private List<String> command() {
        Map<String, List<String>> options = new LinkedHashMap<>();
        options.put("--port", List.of(String.valueOf(port)));
        if (tls != null) {
            List<String> tlsOptions = tls.serverOptions(port);
            for (int i = 0; i < tlsOptions.size(); i += 2) {
                options.put(tlsOptions.get(i), List.of(tlsOptions.get(i + 1)));
            }
        }
        options.put("--bind", List.of(HOST));
        options.put("--dir", List.of(dir.toString()));
        options.put("--daemonize", List.of("no"));
        options.put("--protected-mode", List.of("no"));
        options.put("--save", List.of(""));
        options.put("--appendonly", List.of("no"));
        options.keySet().removeAll(args.stream().filter(a -> a.startsWith("--")).toList());
        List<String> command = new ArrayList<>();
        command.add(binary.path().toString());
        if (config != null) {
            command.add(configFile().toString());
        }
        options.forEach((name, values) -> {
            command.add(name);
            command.addAll(values);
        });
        command.addAll(args);
        return command;
    }

    private Path configFile() {
        return dir.resolve("redis.conf");
    }

    /** SIGTERM (Redis flushes AOF and exits), SIGKILL if it takes more than 10 s. */
    private void stopProcess() {
        Process p = process;
        if (p == null) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    String logTail() {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("redis.log"), StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Shutdown hook: SIGTERM to all at once, then wait, so exit is not slowed down per server. */
    private static void closeAll() {
        List<ProcessRedisServer> servers = new ArrayList<>(OPEN);
        for (ProcessRedisServer server : servers) {
            Process p = server.process;
            if (p != null) {
                p.destroy();
            }
        }
        servers.forEach(ProcessRedisServer::close);
    }

    private static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            // best effort: temp files
        }
    }
}
