package io.statefulroute.autoconfigure;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.LinkedHashMap;
import java.util.Map;

import io.statefulroute.core.state.PodAddress;

import org.springframework.core.env.Environment;
import org.springframework.util.StringUtils;

/**
 * Works out the address this pod advertises from {@code stateful-route.server.advertised-address.*},
 * the downward API's {@code POD_IP}, the web server's port and the application's zone.
 */
final class AdvertisedPodAddress {

    /** Environment variable a Kubernetes manifest sets from {@code status.podIP}. */
    static final String POD_IP_PROPERTY = "POD_IP";

    private AdvertisedPodAddress() {
    }

    /**
     * The address with the given port when none is configured.
     * @param zone the application's zone, advertised unless the metadata sets one; null for none
     * @param webServerPort the port the web server listens on, or null when there is none
     * @return the address, or null when there is no port to advertise
     */
    static PodAddress resolve(StatefulRouteProperties.AdvertisedAddress settings, String zone,
            Environment environment, Integer webServerPort) {
        Integer port = (settings.getPort() != null) ? settings.getPort() : webServerPort;
        if (!settings.isEnabled() || port == null) {
            return null;
        }
        String scheme = StringUtils.hasText(settings.getScheme()) ? settings.getScheme()
                : environment.getProperty("server.ssl.enabled", Boolean.class, false) ? "https" : "http";
        Map<String, String> metadata = settings.getMetadata();
        if (zone != null && !metadata.containsKey(PodAddress.ZONE)) {
            metadata = new LinkedHashMap<>(metadata);
            metadata.put(PodAddress.ZONE, zone);
        }
        return new PodAddress(scheme, host(settings, environment), port, metadata);
    }

    private static String host(StatefulRouteProperties.AdvertisedAddress settings, Environment environment) {
        if (StringUtils.hasText(settings.getHost())) {
            return settings.getHost();
        }
        String podIp = environment.getProperty(POD_IP_PROPERTY);
        if (StringUtils.hasText(podIp)) {
            return podIp;
        }
        try {
            return InetAddress.getLocalHost().getHostAddress();
        }
        catch (UnknownHostException ex) {
            throw new IllegalStateException("Cannot tell this pod's address: the local host name does not resolve. "
                    + "Set POD_IP or stateful-route.server.advertised-address.host", ex);
        }
    }

}
