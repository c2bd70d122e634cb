package io.statefulroute.sample;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;

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
 * Starts an embedded Redis (the Redis 6.2 of the embedded-redis jar) on a free port when the
 * application has no Redis configured, so the sample runs on a machine with only a JDK.
 * Setting any of {@link #REDIS_PROPERTIES} switches it off.
 *
 * <p>Registered in {@code META-INF/spring.factories}. It decides once every property source
 * is in place (test property sources arrive after environment post-processors run) and
 * before the Redis auto-configuration binds {@code spring.data.redis.*}: in a bean factory
 * post-processor. The server is a bean destroyed with the context, after the pods drained.
 */
public class EmbeddedRedisDefault implements ApplicationContextInitializer<ConfigurableApplicationContext> {

    /** Bean name of the {@link RedisServer}, when started. */
    public static final String BEAN_NAME = "embeddedRedisServer";

    static final List<String> REDIS_PROPERTIES = List.of("spring.data.redis.host", "spring.data.redis.port",
            "spring.data.redis.url", "spring.data.redis.cluster.nodes", "spring.data.redis.sentinel.master",
            "spring.data.redis.sentinel.nodes");

    private static final Logger logger = LoggerFactory.getLogger(EmbeddedRedisDefault.class);

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
            RedisServer redis = RedisServer.newRedisServer().bind("127.0.0.1").port(port).build();
            redis.start();
            beanFactory.registerSingleton(BEAN_NAME, redis);
            ((DefaultListableBeanFactory) beanFactory).registerDisposableBean(BEAN_NAME, redis::stop);
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

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

}
