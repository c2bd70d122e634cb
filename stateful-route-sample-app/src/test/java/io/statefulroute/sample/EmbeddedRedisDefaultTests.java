package io.statefulroute.sample;

import org.junit.jupiter.api.Test;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With no {@code spring.data.redis.*} at all, the sample starts its embedded Redis, routes on
 * it, and stops it with the application.
 */
class EmbeddedRedisDefaultTests {

    @Test
    void startsAnEmbeddedRedisWhenNoneIsConfiguredAndStopsItWithTheApplication() {
        Process redis;
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(LobbyApplication.class)
            .web(WebApplicationType.NONE)
            .properties("sample.demo.enabled=false")
            .run()) {
            redis = context.getBean(EmbeddedRedisDefault.BEAN_NAME, Process.class);
            assertThat(redis.isAlive()).isTrue();
            assertThat(context.getBean(Gateway.class).route("lobby", "alice")).isBetween(0, 2);
        }
        assertThat(redis.isAlive()).isFalse();
    }

}
