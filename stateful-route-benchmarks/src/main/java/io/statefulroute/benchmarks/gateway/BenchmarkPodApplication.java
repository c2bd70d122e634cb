package io.statefulroute.benchmarks.gateway;

import io.statefulroute.core.server.StatefulRouteForServerDriver;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * A pod of the benchmark's service: a real web server with the stateful-route starter
 * (heartbeats carrying its address) whose only handler answers every GET with its pod
 * name, so the benchmark measures the gateway and its balancer, not the backend.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class BenchmarkPodApplication {

    @Bean
    RouterFunction<ServerResponse> hello(StatefulRouteForServerDriver pod) {
        String name = "pod-" + pod.identity().podIndex();
        return RouterFunctions.route().GET("/**", (request) -> ServerResponse.ok().bodyValue(name)).build();
    }

}
