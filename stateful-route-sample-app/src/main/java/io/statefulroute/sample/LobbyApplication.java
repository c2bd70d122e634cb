package io.statefulroute.sample;

import java.time.Duration;

import io.statefulroute.autoconfigure.StatefulRouteProperties;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.StatefulRouteForServerDriver;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.scheduling.annotation.EnableScheduling;

/**
 * Game lobbies on stateful-route. Every process is a gateway ({@link Gateway}: which lobby pod
 * holds this player?) with a live page; the lobby pods either run inside it (demo mode, the
 * default) or one per process ({@code --stateful-route.server.enabled=true
 * --stateful-route.server.pod-index=N}). Without {@code spring.data.redis.*} it brings its
 * own Redis ({@link EmbeddedRedisDefault}). {@link RouteLog}, a {@code RouteListener} bean,
 * is handed to the starter's client driver and records its routing decisions for the page.
 */
@SpringBootApplication
@EnableScheduling
@EnableConfigurationProperties(SampleProperties.class)
public class LobbyApplication {

    public static void main(String[] args) {
        SpringApplication.run(LobbyApplication.class, args);
    }

    /**
     * The lobby pods in this process: the starter's pod when this process is one pod of the
     * service, else {@code sample.pods} simulated pods sharing this process' Redis executor.
     */
    @Bean
    LobbyPods lobbyPods(ObjectProvider<StatefulRouteForServerDriver> thisPod, StatefulExecutor executor,
            StatefulRouteProperties properties, SampleProperties sample) {
        StatefulRouteForServerDriver pod = thisPod.getIfAvailable();
        if (pod != null) {
            return LobbyPods.thisProcess(pod);
        }
        Duration podExpiry = properties.getState().getPodExpiry();
        return LobbyPods.simulated(executor, properties.getNamespace(), properties.getServer().getService(),
                sample.pods(), properties.getServer().getHeartbeatPeriod(), (options) -> options.withLease(podExpiry,
                        properties.getServer().leaseMarginOr(podExpiry), properties.getState().getRelinkGrace()));
    }

}
