package io.statefulroute.testsupport;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.testcontainers.DockerClientFactory;

import redis.embedded.core.ExecutableProvider;

/**
 * Finds what can run Redis on this machine: a Docker engine (for Testcontainers), a
 * {@code redis-server} on the PATH, or the binary bundled in the embedded-redis jar. Each probe
 * runs at most once per JVM.
 */
final class Backends {

    static final String TESTCONTAINERS = "testcontainers";
    static final String REDIS_SERVER = "redis-server";
    static final String EMBEDDED = "embedded-redis";

    /** A redis-server executable and the kind name reported for servers it runs. */
    record Binary(Path path, String kind) {
    }

    private static volatile Boolean docker;
    private static volatile Optional<Binary> onPath;
    private static volatile Binary embedded;

    private Backends() {
    }

    /**
     * True if Testcontainers can reach a Docker engine. Testcontainers is only asked when some
     * Docker endpoint plausibly exists (DOCKER_HOST, a Testcontainers config, a known socket), so
     * machines without Docker fail over at once and without Testcontainers' error logging.
     */
    static synchronized boolean dockerAvailable() {
        if (docker == null) {
            boolean result = false;
            if (dockerEndpointMayExist()) {
                try {
                    result = DockerClientFactory.instance().isDockerAvailable();
                } catch (Throwable e) { // includes NoClassDefFoundError if Testcontainers is absent
                    result = false;
                }
            }
            docker = result;
        }
        return docker;
    }

    private static boolean dockerEndpointMayExist() {
        if (System.getProperty("os.name", "").toLowerCase().contains("win")) {
            return true; // named pipes cannot be probed as files
        }
        if (System.getenv("DOCKER_HOST") != null || System.getenv("TESTCONTAINERS_HOST_OVERRIDE") != null) {
            return true;
        }
        String home = System.getProperty("user.home", "");
        String runtimeDir = Optional.ofNullable(System.getenv("XDG_RUNTIME_DIR")).orElse("/nonexistent");
        return Stream.of(
                        Paths.get(home, ".testcontainers.properties"),
                        Paths.get("/var/run/docker.sock"),
                        Paths.get(runtimeDir, "docker.sock"),
                        Paths.get(home, ".docker", "run", "docker.sock"),
                        Paths.get(home, ".docker", "desktop", "docker.sock"),
                        Paths.get(home, ".colima", "default", "docker.sock"),
                        Paths.get(home, ".rd", "docker.sock"))
                .anyMatch(Files::exists);
    }

    /** The first {@code redis-server} on the PATH that answers {@code --version}, if any. */
    static synchronized Optional<Binary> redisServerOnPath() {
        if (onPath == null) {
            onPath = Stream.of(Optional.ofNullable(System.getenv("PATH")).orElse("").split(File.pathSeparator))
                    .filter(dir -> !dir.isEmpty())
                    .map(dir -> Paths.get(dir, "redis-server"))
                    .filter(Files::isExecutable)
                    .filter(Backends::answersVersion)
                    .findFirst()
                    .map(path -> new Binary(path, REDIS_SERVER));
        }
        return onPath;
    }

    /** The Redis 6.2 binary bundled in the embedded-redis jar, extracted once per JVM. */
    static synchronized Binary embedded() {
        if (embedded == null) {
            try {
                // Picks the resource for this OS/architecture and extracts it to a temp dir deleted at exit.
                embedded = new Binary(ExecutableProvider.newJarResourceProvider().get().toPath(), EMBEDDED);
            } catch (Exception | LinkageError e) {
                throw new IllegalStateException("Cannot extract the Redis binary from the embedded-redis jar for "
                        + System.getProperty("os.name") + "/" + System.getProperty("os.arch") + ": " + e, e);
            }
        }
        return embedded;
    }

    /** A binary for process-based servers: redis-server on the PATH if present, else embedded-redis. */
    static Binary processBinary(boolean embeddedOnly) {
        if (embeddedOnly) {
            return embedded();
        }
        return redisServerOnPath().orElseGet(Backends::embedded);
    }

    private static boolean answersVersion(Path binary) {
        try {
            Process process = new ProcessBuilder(List.of(binary.toString(), "--version"))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return false;
            }
            return process.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
