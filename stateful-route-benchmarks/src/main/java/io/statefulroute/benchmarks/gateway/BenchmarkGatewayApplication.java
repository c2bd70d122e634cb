package io.statefulroute.benchmarks.gateway;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * The Spring Cloud Gateway under test: its two routes come from properties set by
 * {@link GatewayBenchmark}; no routing code. The balancer's decisions are also told to the
 * benchmark's {@link TailProbe}, a route listener like the starter's own meters.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class BenchmarkGatewayApplication {

    @Bean
    TailProbe tailProbe() {
        return new TailProbe();
    }

}
