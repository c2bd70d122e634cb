package io.statefulroute.sample;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.embedded.RedisServer;

import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Starts an embedded Redis (the Redis binary of the embedded-redis jar) on a free port when the
 * application has no Redis configured, so the sample runs on a machine with only a JDK.
 * Setting any of {@link #REDIS_PROPERTIES} switches it off.
 *
 * <p>Registered in {@code META-INF/spring.factories}. It decides once every property source
 * is in place (test property sources arrive after environment post-processors run) and
 * before the Redis auto-configuration binds {@code spring.data.redis.*}: in a bean factory
 * post-processor. The server process is a bean destroyed with the context, after the pods
 * drained. The jar's own {@code RedisServer} is not used to run it: its JVM shutdown hook
 * kills Redis the moment the application is asked to stop, so the pods would drain (and other
 * processes using this Redis stop) against a dead Redis.
 */
public class EmbeddedRedisDefault implements ApplicationContextInitializer<ConfigurableApplicationContext> {

    /** Bean name of the Redis server {@link Process}, when started. */
    public static final String BEAN_NAME = "embeddedRedisServer";

    static final List<String> REDIS_PROPERTIES = List.of("spring.data.redis.host", "spring.data.redis.port",
            "spring.data.redis.url", "spring.data.redis.cluster.nodes", "spring.data.redis.sentinel.master",
            "spring.data.redis.sentinel.nodes");

    private static final Logger logger = LoggerFactory.getLogger(EmbeddedRedisDefault.class);

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(10);

    /** How long a JVM exit waits for the context to drain and stop Redis before it stops Redis itself. */
    private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(30);

    @Override
    public void initialize(ConfigurableApplicationContext context) {
        context.addBeanFactoryPostProcessor((beanFactory) -> startUnlessConfigured(context.getEnvironment(), beanFactory));
    }

    private static void startUnlessConfigured(ConfigurableEnvironment environment,
            ConfigurableListableBeanFactory beanFactory) {
        if (REDIS_PROPERTIES.stream().anyMatch(environment::containsProperty)) {
            return;
        }
        try {
            int port = freePort();
            Process redis = start(port);
            // a safety net for an exit that does not close the context (the context stops Redis first)
            Thread exitHook = new Thread(() -> stop(redis, EXIT_TIMEOUT), "embedded-redis-exit");
            Runtime.getRuntime().addShutdownHook(exitHook);
            beanFactory.registerSingleton(BEAN_NAME, redis);
            ((DefaultListableBeanFactory) beanFactory).registerDisposableBean(BEAN_NAME, () -> {
                stop(redis, Duration.ZERO);
                removeShutdownHook(exitHook);
            });
            environment.getPropertySources()
                .addLast(new MapPropertySource("embeddedRedis",
                        Map.of("spring.data.redis.host", "127.0.0.1", "spring.data.redis.port", port)));
            logger.info("No Redis configured: started an embedded Redis on 127.0.0.1:{}; it stops with the "
                    + "application. Set spring.data.redis.host (or url, cluster.nodes, sentinel.*) to use your own", port);
        }
        catch (IOException ex) {
            throw new UncheckedIOException("Cannot start the embedded Redis; set spring.data.redis.host to use yours", ex);
        }
    }

    private static Process start(int port) throws IOException {
        List<String> command = RedisServer.newRedisServer().bind("127.0.0.1").port(port).buildCommandArgs();
        Process redis = new ProcessBuilder(command).directory(new File(command.get(0)).getParentFile())
            .redirectErrorStream(true)
            .redirectOutput(Redirect.DISCARD)
            .start();
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        while (!accepts(port)) {
            if (!redis.isAlive() || System.nanoTime() - deadline > 0) {
                redis.destroyForcibly();
                throw new IOException("Redis did not start listening on port " + port + " within " + STARTUP_TIMEOUT);
            }
            sleep(50);
        }
        return redis;
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 100);
            return true;
        }
        catch (IOException ex) {
            return false;
        }
    }

    /** Waits up to {@code grace} for Redis to end, then asks it to (SIGTERM: it exits at once) and waits for it. */
    private static void stop(Process redis, Duration grace) {
        try {
            if (!redis.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                redis.destroy();
                if (!redis.waitFor(STARTUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    redis.destroyForcibly();
                }
            }
        }
        catch (InterruptedException ex) {
            redis.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static void removeShutdownHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        }
        catch (IllegalStateException ex) {
            // the JVM is exiting: the hook runs and finds Redis already stopped
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

}
