package io.statefulroute.cloud.it;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.cloud.client.loadbalancer.LoadBalanced;
import org.springframework.context.annotation.Bean;
import org.springframework.web.client.RestClient;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * A Spring Cloud Gateway in front of the lobby pods: its routes ({@code lb://lobby},
 * {@code lb:ws://lobby}) come from properties; no routing code. It also offers
 * {@code @LoadBalanced} clients, as a service calling the lobby would.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class LobbyGatewayApplication {

    @Bean
    @LoadBalanced
    WebClient.Builder loadBalancedWebClient() {
        return WebClient.builder();
    }

    @Bean
    @LoadBalanced
    RestClient.Builder loadBalancedRestClient() {
        return RestClient.builder();
    }

}
