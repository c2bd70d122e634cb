package io.statefulroute.benchmarks.gateway;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;

/**
 * The Spring Cloud Gateway under test: its two routes come from properties set by
 * {@link GatewayBenchmark}; no routing code.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class BenchmarkGatewayApplication {

}
