package io.statefulroute.autoconfigure;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.springframework.core.env.Environment;
import org.springframework.util.StringUtils;

/**
 * Finds this pod's ordinal the way Kubernetes StatefulSets name pods: {@code <set>-<ordinal>}
 * ({@code chat-3} is pod 3 of {@code chat}).
 */
final class StatefulSetPodIndex {

    /** Environment variable Kubernetes sets to the pod name; read through the Spring environment, so tests can set it. */
    static final String HOSTNAME_PROPERTY = "HOSTNAME";

    private static final Pattern ORDINAL = Pattern.compile("-(\\d{1,9})$");

    private StatefulSetPodIndex() {
    }

    /**
     * The configured index, else the ordinal at the end of the host name.
     * @throws IllegalStateException when neither gives an index, saying how to fix it
     */
    static int resolve(Integer configured, Environment environment) {
        if (configured != null) {
            return configured;
        }
        String hostName = environment.getProperty(HOSTNAME_PROPERTY);
        if (!StringUtils.hasText(hostName)) {
            hostName = localHostName();
        }
        OptionalInt ordinal = fromHostName(hostName);
        if (ordinal.isEmpty()) {
            throw new IllegalStateException("Cannot tell this pod's index: host name '" + hostName
                    + "' does not end with '-<ordinal>' as StatefulSet pods do. Set stateful-route.server.pod-index");
        }
        return ordinal.getAsInt();
    }

    /** The ordinal at the end of the host name's first label, if any. */
    static OptionalInt fromHostName(String hostName) {
        if (hostName == null) {
            return OptionalInt.empty();
        }
        int dot = hostName.indexOf('.');
        String podName = (dot >= 0) ? hostName.substring(0, dot) : hostName;
        Matcher matcher = ORDINAL.matcher(podName);
        return matcher.find() ? OptionalInt.of(Integer.parseInt(matcher.group(1))) : OptionalInt.empty();
    }

    private static String localHostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        }
        catch (UnknownHostException ex) {
            return null;
        }
    }

}
