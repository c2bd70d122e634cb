package io.statefulroute.autoconfigure;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests the {@code spring-configuration-metadata.json} that the configuration processor
 * generated into the build output, which IDEs use to complete {@code stateful-route.*}.
 */
class ConfigurationMetadataTests {

    @Test
    void everyPropertyIsDescribed() throws Exception {
        List<JsonNode> properties = statefulRouteProperties();
        assertThat(properties).extracting((property) -> property.get("name").asString())
            .containsExactlyInAnyOrder("stateful-route.namespace", "stateful-route.key-prefix",
                    "stateful-route.command-timeout", "stateful-route.selection-strategy",
                    "stateful-route.link.temporary-ttl", "stateful-route.cache.maximum-size",
                    "stateful-route.cache.ttl", "stateful-route.cache.fallback-ttl", "stateful-route.link.follow-changes",
                    "stateful-route.link.notices", "stateful-route.link.publish-changes",
                    "stateful-route.link.replica-acks", "stateful-route.link.replica-ack-timeout",
                    "stateful-route.state.refresh-period",
                    "stateful-route.state.pod-expiry", "stateful-route.state.retention",
                    "stateful-route.state.relink-grace", "stateful-route.server.lease-margin",
                    "stateful-route.state.load-change-threshold", "stateful-route.state.max-services",
                    "stateful-route.state.services",
                    "stateful-route.server.enabled", "stateful-route.server.service",
                    "stateful-route.server.pod-index", "stateful-route.server.heartbeat-period",
                    "stateful-route.server.drain-period", "stateful-route.server.cpu-factor",
                    "stateful-route.server.advertised-address.enabled",
                    "stateful-route.server.advertised-address.host",
                    "stateful-route.server.advertised-address.port",
                    "stateful-route.server.advertised-address.scheme",
                    "stateful-route.server.advertised-address.metadata",
                    "stateful-route.server.capacity.users", "stateful-route.server.capacity.load",
                    "stateful-route.server.warm-up.duration", "stateful-route.server.warm-up.aggression",
                    "stateful-route.server.warm-up.minimum-weight",
                    "stateful-route.server.rebalance.enabled", "stateful-route.server.rebalance.interval",
                    "stateful-route.server.rebalance.tolerance", "stateful-route.server.rebalance.max-share",
                    "stateful-route.server.rebalance.max-moves-per-second",
                    "stateful-route.zone", "stateful-route.zone-preference.enabled",
                    "stateful-route.zone-preference.load-threshold",
                    "stateful-route.scheduling.enabled", "stateful-route.cache.expiry",
                    "stateful-route.tracing.include-uid", "stateful-route.analyzer.enabled",
                    "stateful-route.analyzer.period", "stateful-route.analyzer.window",
                    "stateful-route.analyzer.link-cache-hit-rate.enabled",
                    "stateful-route.analyzer.link-cache-hit-rate.minimum",
                    "stateful-route.analyzer.link-cache-hit-rate.minimum-lookups",
                    "stateful-route.analyzer.routing-latency.enabled",
                    "stateful-route.analyzer.routing-latency.maximum-p99",
                    "stateful-route.analyzer.routing-latency.minimum-decisions",
                    "stateful-route.analyzer.redis-error-rate.enabled",
                    "stateful-route.analyzer.redis-error-rate.maximum",
                    "stateful-route.analyzer.redis-error-rate.minimum-operations",
                    "stateful-route.analyzer.heartbeat-failures.enabled",
                    "stateful-route.analyzer.heartbeat-failures.maximum",
                    "stateful-route.analyzer.no-routable-pod.enabled",
                    "stateful-route.analyzer.load-imbalance.enabled",
                    "stateful-route.analyzer.load-imbalance.maximum-ratio",
                    "stateful-route.analyzer.load-imbalance.minimum-mean-load",
                    "stateful-route.analyzer.stale-pod-states.enabled",
                    "stateful-route.analyzer.stale-pod-states.maximum-age");
        for (JsonNode property : properties) {
            String name = property.get("name").asString();
            String description = property.path("description").asString("");
            assertThat(description).as("description of %s", name).isNotBlank().doesNotStartWith("The ")
                .doesNotStartWith("A ");
            if (property.get("type").asString().matches("java.lang.Boolean|boolean")) {
                assertThat(description).as("description of %s", name).startsWith("Whether");
            }
        }
    }

    @Test
    void timesAreDurationsWithDefaults() throws Exception {
        for (JsonNode property : statefulRouteProperties()) {
            String name = property.get("name").asString();
            if (name.endsWith("-period") || name.endsWith("-ttl") || name.endsWith(".ttl") || name.endsWith("-expiry")
                    || name.endsWith("-timeout") || name.endsWith(".retention")) {
                assertThat(property.get("type").asString()).as("type of %s", name).isEqualTo("java.time.Duration");
                assertThat(property.has("defaultValue")).as("default of %s", name).isTrue();
            }
        }
    }

    private static List<JsonNode> statefulRouteProperties() throws IOException, URISyntaxException {
        Path classes = Path.of(StatefulRouteProperties.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path metadata = classes.resolve("META-INF/spring-configuration-metadata.json");
        assertThat(metadata).exists();
        JsonNode root = JsonMapper.builder().build().readTree(Files.readString(metadata));
        List<JsonNode> properties = new ArrayList<>();
        root.get("properties").forEach((property) -> {
            if (property.get("name").asString().startsWith("stateful-route.")) {
                properties.add(property);
            }
        });
        return properties;
    }

}
