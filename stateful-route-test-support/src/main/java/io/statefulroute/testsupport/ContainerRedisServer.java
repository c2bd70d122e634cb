package io.statefulroute.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;

/**
 * Redis in a {@code redis:7.2} container. The host port is bound explicitly (not randomly, and on
 * all interfaces of the Docker host like Testcontainers does, so remote Docker hosts work) and
 * {@link #stop()}/{@link #start()} stop and start the same container, so a restart keeps both the
 * port and the container's {@code /data}. Only {@link #close()} removes the container.
 */
final class ContainerRedisServer implements RedisServer {

    private static final DockerImageName IMAGE = DockerImageName.parse("redis:7.2");
    private static final int REDIS_PORT = 6379;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final GenericContainer<?> container;
    private final int port;
    private String version;
    private boolean running;
    private boolean closed;

    private ContainerRedisServer(GenericContainer<?> container, int port) {
        this.container = container;
        this.port = port;
    }

    static ContainerRedisServer launch(List<String> extraArgs) {
        int hostPort = FreePorts.next();
        List<String> command = new ArrayList<>(List.of("redis-server", "--protected-mode", "no"));
        if (!extraArgs.contains("--save")) {
            command.addAll(List.of("--save", ""));
        }
        if (!extraArgs.contains("--appendonly")) {
            command.addAll(List.of("--appendonly", "no"));
        }
        command.addAll(extraArgs);
        GenericContainer<?> container = new GenericContainer<>(IMAGE)
                .withExposedPorts(REDIS_PORT)
                .withCommand(command.toArray(String[]::new))
                .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig().withPortBindings(new PortBinding(
                        Ports.Binding.bindPort(hostPort), ExposedPort.tcp(REDIS_PORT))));
        container.start();
        ContainerRedisServer server = new ContainerRedisServer(container, container.getMappedPort(REDIS_PORT));
        server.running = true;
        server.awaitPing();
        return server;
    }

    @Override
    public String host() {
        return container.getHost();
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public String uri() {
        return "redis://" + host() + ":" + port;
    }

    @Override
    public String kind() {
        return Backends.TESTCONTAINERS;
    }

    @Override
    public synchronized String version() {
        return version;
    }

    @Override
    public synchronized void stop() {
        if (running) {
            DockerClientFactory.instance().client().stopContainerCmd(container.getContainerId()).exec();
            running = false;
        }
    }

    @Override
    public synchronized void start() {
        if (closed) {
            throw new IllegalStateException("Redis container on port " + port + " is closed");
        }
        if (!running) {
            DockerClientFactory.instance().client().startContainerCmd(container.getContainerId()).exec();
            running = true;
            awaitPing();
        }
    }

    @Override
    public synchronized boolean isRunning() {
        return running;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            running = false;
            container.stop();
        }
    }

    private void awaitPing() {
        Poll.until(START_TIMEOUT, () -> Resp.ping(host(), port),
                () -> "Redis container " + container.getContainerId() + " did not answer PING on " + host() + ":" + port
                        + "\nLogs:\n" + container.getLogs());
        if (version == null) {
            try {
                version = Resp.infoField(Resp.callString(host(), port, "INFO", "server"), "redis_version");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
