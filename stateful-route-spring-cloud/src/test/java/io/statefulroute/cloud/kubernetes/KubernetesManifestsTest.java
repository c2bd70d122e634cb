package io.statefulroute.cloud.kubernetes;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.statefulroute.autoconfigure.StatefulRouteProperties;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Kubernetes manifests under {@code docs/kubernetes} parse, and what must agree between
 * them and with the starter's defaults does: the StatefulSet's headless Service, the
 * advertised {@code POD_IP}, readiness on the drain, and a termination grace period that
 * covers preStop, the drain and the web server's graceful shutdown; Prometheus scrapes pods and
 * gateways where their metrics are.
 */
class KubernetesManifestsTest {

    private static final Path MANIFESTS = Path.of("..", "docs", "kubernetes");

    @Test
    void podsRunAsAStatefulSetBehindAHeadlessServiceAndAdvertiseTheirPodIp() throws IOException {
        List<Map<String, Object>> pods = load("lobby-pods.yaml");
        Map<String, Object> service = ofKind(pods, "Service");
        Map<String, Object> statefulSet = ofKind(pods, "StatefulSet");

        assertThat(map(service, "spec").get("clusterIP")).isEqualTo("None");
        assertThat(map(statefulSet, "spec").get("serviceName")).isEqualTo(map(service, "metadata").get("name"));
        Map<String, Object> template = map(map(statefulSet, "spec"), "template");
        assertThat(map(template, "metadata").get("labels")).isEqualTo(map(service, "spec").get("selector"));

        Map<String, Object> container = container(statefulSet);
        assertThat(map(map(env(container, "POD_IP"), "valueFrom"), "fieldRef").get("fieldPath"))
            .isEqualTo("status.podIP");
        int port = Integer.parseInt((String) env(container, "SERVER_PORT").get("value"));
        assertThat(list(container, "ports")).extracting((p) -> p.get("containerPort")).containsExactly(port);
        assertThat(list(map(service, "spec"), "ports")).extracting((p) -> p.get("port")).containsExactly(port);
    }

    @Test
    void readinessIsWiredToTheDrainAndTheGracePeriodCoversIt() throws IOException {
        Map<String, Object> statefulSet = ofKind(load("lobby-pods.yaml"), "StatefulSet");
        Map<String, Object> container = container(statefulSet);

        assertThat(map(map(container, "readinessProbe"), "httpGet").get("path")).isEqualTo("/actuator/health/readiness");
        assertThat(env(container, "MANAGEMENT_ENDPOINT_HEALTH_PROBES_ENABLED").get("value")).isEqualTo("true");
        assertThat(env(container, "SERVER_SHUTDOWN").get("value")).isEqualTo("graceful");

        Duration preStop = Duration.ofSeconds(
                ((Number) map(map(map(container, "lifecycle"), "preStop"), "sleep").get("seconds")).longValue());
        // read the way Spring Boot binds them, so a misnamed variable fails here, not in the cluster
        Binder binder = binder(container);
        Duration drain = binder.bind("stateful-route.server.drain-period", Duration.class)
            .orElse(new StatefulRouteProperties().getServer().getDrainPeriod());
        Duration shutdownPhase = binder.bind("spring.lifecycle.timeout-per-shutdown-phase", Duration.class)
            .get();
        Duration grace = Duration.ofSeconds(
                ((Number) map(map(map(statefulSet, "spec"), "template"), "spec").get("terminationGracePeriodSeconds"))
                    .longValue());

        assertThat(drain).as("drain period below the shutdown phase timeout").isLessThan(shutdownPhase);
        assertThat(grace).as("termination grace period").isGreaterThanOrEqualTo(preStop.plus(drain).plus(shutdownPhase));
    }

    @Test
    void gatewayRoutesToTheStatefulServiceInTheSameNamespace() throws IOException {
        Map<String, Object> pods = container(ofKind(load("lobby-pods.yaml"), "StatefulSet"));
        Map<String, Object> gateway = container(ofKind(load("gateway.yaml"), "Deployment"));
        String service = binder(pods).bind("stateful-route.server.service", String.class).get();
        String namespace = binder(pods).bind("stateful-route.namespace", String.class).get();

        assertThat(service).isEqualTo("lobby");
        assertThat(binder(gateway).bind("stateful-route.namespace", String.class).get()).isEqualTo(namespace);
        assertThat(binder(gateway).bind("stateful-route.loadbalancer.uid.path-segment", Integer.class).get())
            .isEqualTo(1);
        assertThat(env(gateway, "SPRING_DATA_REDIS_HOST").get("value"))
            .isEqualTo(env(pods, "SPRING_DATA_REDIS_HOST").get("value"));
        assertThat(env(gateway, "SPRING_CLOUD_GATEWAY_SERVER_WEBFLUX_ROUTES_0_URI").get("value"))
            .isEqualTo("lb:ws://" + service);
        assertThat(env(gateway, "SPRING_CLOUD_GATEWAY_SERVER_WEBFLUX_ROUTES_1_URI").get("value"))
            .isEqualTo("lb://" + service);
    }

    @Test
    void prometheusScrapesPodsAndGatewaysWhereTheyServeTheirMetrics() throws IOException {
        List<Map<String, Object>> monitors = load("pod-monitors.yaml");
        for (Map<String, Object> workload : List.of(ofKind(load("lobby-pods.yaml"), "StatefulSet"),
                ofKind(load("gateway.yaml"), "Deployment"))) {
            Map<String, Object> template = map(map(workload, "spec"), "template");
            Map<String, Object> container = container(workload);
            Map<String, Object> annotations = map(map(template, "metadata"), "annotations");
            assertThat(annotations).containsEntry("prometheus.io/scrape", "true")
                .containsEntry("prometheus.io/path", "/actuator/prometheus")
                .containsEntry("prometheus.io/port", env(container, "SERVER_PORT").get("value"));
            assertThat(binder(container).bind("management.endpoints.web.exposure.include", String[].class).get())
                .contains("prometheus");

            Map<String, Object> monitor = monitors.stream()
                .filter((m) -> map(map(m, "spec"), "selector").get("matchLabels").equals(map(template, "metadata").get("labels")))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no PodMonitor selects " + map(template, "metadata").get("labels")));
            Map<String, Object> endpoint = list(map(monitor, "spec"), "podMetricsEndpoints").get(0);
            assertThat(list(container, "ports")).extracting((p) -> p.get("name")).contains(endpoint.get("port"));
            assertThat(endpoint.get("path")).isEqualTo("/actuator/prometheus");
            // the meters' own namespace and pod labels must win over the ones Prometheus sets on a target
            assertThat(endpoint.get("honorLabels")).isEqualTo(true);
        }
        assertThat(list(map(ofKind(load("prometheus-rule.yaml"), "PrometheusRule"), "spec"), "groups")).isNotEmpty();
    }

    // ---- helpers

    /** The container's plain environment variables, as Spring Boot binds them to properties. */
    private static Binder binder(Map<String, Object> container) {
        Map<String, Object> variables = new HashMap<>();
        list(container, "env").stream().filter((env) -> env.get("value") != null)
            .forEach((env) -> variables.put((String) env.get("name"), env.get("value")));
        return new Binder(ConfigurationPropertySources.from(new SystemEnvironmentPropertySource(
                StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables)));
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> load(String file) throws IOException {
        List<Map<String, Object>> documents = new ArrayList<>();
        try (Reader reader = Files.newBufferedReader(MANIFESTS.resolve(file))) {
            new Yaml().loadAll(reader).forEach((document) -> documents.add((Map<String, Object>) document));
        }
        return documents;
    }

    private static Map<String, Object> ofKind(List<Map<String, Object>> documents, String kind) {
        return documents.stream().filter((document) -> kind.equals(document.get("kind"))).findFirst().get();
    }

    private static Map<String, Object> container(Map<String, Object> workload) {
        return list(map(map(map(workload, "spec"), "template"), "spec"), "containers").get(0);
    }

    private static Map<String, Object> env(Map<String, Object> container, String name) {
        return list(container, "env").stream().filter((env) -> name.equals(env.get("name"))).findFirst()
            .orElseThrow(() -> new AssertionError("no env " + name));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> parent, String key) {
        return (Map<String, Object>) parent.get(key);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Map<String, Object> parent, String key) {
        return (List<Map<String, Object>>) parent.get(key);
    }

}
