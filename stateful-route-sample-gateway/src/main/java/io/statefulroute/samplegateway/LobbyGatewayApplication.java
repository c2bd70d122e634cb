package io.statefulroute.samplegateway;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The sample's gateway: a Spring Cloud Gateway whose routes ({@code lb://lobby},
 * {@code lb:ws://lobby}, in {@code application.yml}) reach the lobby pod holding each player,
 * through the stateful-route balancer of {@code stateful-route-spring-cloud}. No routing code:
 * the pods advertise their addresses in their heartbeats, the balancer reads them from Redis.
 */
@SpringBootApplication
public class LobbyGatewayApplication {

    public static void main(String[] args) {
        SpringApplication.run(LobbyGatewayApplication.class, args);
    }

}
