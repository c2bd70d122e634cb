package io.statefulroute.core.state;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import io.statefulroute.core.InvalidRouteArgumentException;

/**
 * Where a pod serves its users, as it advertises it with each heartbeat: what a gateway
 * connects to once it knows a user's pod.
 *
 * <p>In the pod's Redis entry the address is one trailing field: the percent-encoded form of
 * {@link #uri()} plus the metadata as a query ({@code http://10.1.2.3:8080?zone=eu-1}), so it
 * holds no {@code :} and entries of versions that do not know it still read.
 *
 * @param scheme how to reach the pod, e.g. {@code http} or {@code https}
 * @param host the pod's IP address or host name
 * @param port the pod's port, 1..65535
 * @param metadata small facts about the pod a balancer may use, e.g. {@code zone}; sorted by key
 */
public record PodAddress(String scheme, String host, int port, Map<String, String> metadata) {

    /** Metadata key of the zone a pod runs in, which gateways prefer their own of for new users. */
    public static final String ZONE = "zone";

    /** The longest an encoded address may be, so a heartbeat stays small. */
    public static final int MAX_ENCODED_LENGTH = 1024;

    private static final Pattern SCHEME = Pattern.compile("[a-z][a-z0-9+.-]{0,15}");

    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9.:-]{1,253}");

    public PodAddress {
        if (scheme == null || !SCHEME.matcher(scheme).matches()) {
            throw new InvalidRouteArgumentException("scheme", scheme + " is not a lower-case URI scheme");
        }
        if (host == null || !HOST.matcher(host).matches()) {
            throw new InvalidRouteArgumentException("host", host + " is not an IP address or host name");
        }
        if (port < 1 || port > 65_535) {
            throw new InvalidRouteArgumentException("port", port + " is outside 1..65535");
        }
        metadata = (metadata == null || metadata.isEmpty()) ? Map.of()
                : Collections.unmodifiableMap(new TreeMap<>(metadata));
        metadata.forEach((key, value) -> {
            if (key == null || key.isBlank() || value == null) {
                throw new InvalidRouteArgumentException("metadata", "keys must not be blank nor values null");
            }
        });
        int length = percentEncode(uriWithMetadata(scheme, host, port, metadata)).length();
        if (length > MAX_ENCODED_LENGTH) {
            throw new InvalidRouteArgumentException("address",
                    "is " + length + " chars long encoded, at most " + MAX_ENCODED_LENGTH + " are allowed");
        }
    }

    /** An address without metadata. */
    public PodAddress(String scheme, String host, int port) {
        this(scheme, host, port, Map.of());
    }

    /** The zone the pod advertises (metadata {@value #ZONE}), or null. */
    public String zone() {
        return this.metadata.get(ZONE);
    }

    /** {@code scheme://host:port}, with IPv6 hosts in brackets. */
    public URI uri() {
        return URI.create(this.scheme + "://" + bracketed(this.host) + ":" + this.port);
    }

    /** The address as one field of a pod entry: percent-encoded, so it contains no {@code :}. */
    public String toEntryField() {
        return percentEncode(uriWithMetadata(this.scheme, this.host, this.port, this.metadata));
    }

    /**
     * Reads a field written by {@link #toEntryField()}.
     * @throws IllegalArgumentException when the field is not such an address
     */
    public static PodAddress fromEntryField(String field) {
        URI uri;
        try {
            uri = new URI(URLDecoder.decode(field.replace("+", "%2B"), StandardCharsets.UTF_8));
        }
        catch (URISyntaxException ex) {
            throw new IllegalArgumentException("Not a pod address: " + field, ex);
        }
        if (uri.getScheme() == null || uri.getHost() == null || uri.getPort() < 0) {
            throw new IllegalArgumentException("Not a pod address: " + field);
        }
        Map<String, String> metadata = new TreeMap<>();
        String query = uri.getRawQuery();
        if (query != null && !query.isEmpty()) {
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("Not a pod address metadata entry: " + pair);
                }
                metadata.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        String host = uri.getHost();
        boolean ipv6 = host.startsWith("[") && host.endsWith("]");
        return new PodAddress(uri.getScheme(), ipv6 ? host.substring(1, host.length() - 1) : host, uri.getPort(),
                metadata);
    }

    private static String uriWithMetadata(String scheme, String host, int port, Map<String, String> metadata) {
        StringBuilder uri = new StringBuilder(scheme).append("://").append(bracketed(host)).append(':').append(port);
        char separator = '?';
        for (Map.Entry<String, String> entry : metadata.entrySet()) {
            uri.append(separator)
                .append(URLEncoder.encode(entry.getKey(), StandardCharsets.UTF_8))
                .append('=')
                .append(URLEncoder.encode(entry.getValue(), StandardCharsets.UTF_8));
            separator = '&';
        }
        return uri.toString();
    }

    private static String bracketed(String host) {
        return (host.indexOf(':') >= 0) ? "[" + host + "]" : host;
    }

    /** RFC 3986 percent-encoding of everything but unreserved characters. */
    private static String percentEncode(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length * 2);
        for (byte b : bytes) {
            int c = b & 0xFF;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                    || c == '_' || c == '~') {
                out.write(c);
            }
            else {
                out.write('%');
                out.write(Character.toUpperCase(Character.forDigit(c >> 4, 16)));
                out.write(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return out.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public String toString() {
        return uri() + (this.metadata.isEmpty() ? "" : " " + this.metadata);
    }
}
