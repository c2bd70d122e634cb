package io.statefulroute.autoconfigure;

import org.springframework.core.env.Environment;
import org.springframework.util.StringUtils;

/**
 * The zone this application runs in: {@code stateful-route.zone}, else the one Spring Cloud
 * LoadBalancer is configured with ({@code spring.cloud.loadbalancer.zone}), so an application
 * that set its zone for Spring Cloud's own zone preference needs no second setting.
 */
final class ApplicationZone {

    /** Spring Cloud LoadBalancer's zone property, read as plain text: no dependency on Spring Cloud. */
    static final String SPRING_CLOUD_ZONE_PROPERTY = "spring.cloud.loadbalancer.zone";

    private ApplicationZone() {
    }

    /** The zone, or null when none is set. */
    static String resolve(StatefulRouteProperties properties, Environment environment) {
        String zone = StringUtils.hasText(properties.getZone()) ? properties.getZone()
                : environment.getProperty(SPRING_CLOUD_ZONE_PROPERTY);
        return StringUtils.hasText(zone) ? zone : null;
    }

}
