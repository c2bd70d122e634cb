package io.statefulroute.core.redis;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.RouteArguments;

/**
 * The key schema. Every key of one script shares one Redis Cluster hash tag:
 * <pre>
 *   {prefix}:{u:{ns}:{uid}}:link:{service}  string "pod", expiring with the link (no TTL: persistent)
 *   {prefix}:{s:{ns}:{service}}:pods        hash   podIndex -> "updatedMs:STATE:loadScore"
 *   {prefix}:{s:{ns}:{service}}:work        string "updatedMs:workload"
 *   {prefix}:{n:{ns}}:services              zset   service -> last recorded (ms)
 * </pre>
 * A user's links share one hash tag, so all of them are read in one {@code MGET}.
 * Ids are percent-encoded outside {@code [A-Za-z0-9._-]}, so braces cannot break the hash
 * tag, colons cannot shift a segment, and two different ids never share a key.
 * Link changes are published on {@code {prefix}:link-changes} as
 * {@code "<ns> <uid> <service>"}, each encoded the same way.
 */
final class RouteKeys {

    private final String prefix;

    RouteKeys(String prefix) {
        if (prefix == null || prefix.isBlank() || prefix.length() > 64) {
            throw new InvalidRouteArgumentException("keyPrefix", "must be 1 to 64 chars");
        }
        if (prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
            throw new InvalidRouteArgumentException("keyPrefix", "must not contain braces: they would change the hash tag");
        }
        this.prefix = prefix;
    }

    String prefix() {
        return this.prefix;
    }

    String link(String namespace, String uid, String service) {
        return this.prefix + ":{u:" + encode(namespace) + ':' + encode(uid) + "}:link:" + encode(service);
    }

    String services(String namespace) {
        return this.prefix + ":{n:" + encode(namespace) + "}:services";
    }

    String pods(String namespace, String service) {
        return serviceTag(namespace, service) + ":pods";
    }

    String workload(String namespace, String service) {
        return serviceTag(namespace, service) + ":work";
    }

    String linkChangesChannel() {
        return this.prefix + ":link-changes";
    }

    /**
     * A key a tracking client reads, then rewrites, to check that its invalidations arrive;
     * the index spreads one probe's keys over the nodes of a cluster.
     */
    String probe(String token, int index) {
        return this.prefix + ":{probe:" + encode(token) + ':' + index + '}';
    }

    /** The token of one of this prefix's probe keys, or null if the key is not one. */
    String parseProbe(String key) {
        String start = this.prefix + ":{probe:";
        if (!key.startsWith(start) || !key.endsWith("}")) {
            return null;
        }
        String tagged = key.substring(start.length(), key.length() - 1);
        int index = tagged.lastIndexOf(':');
        return (index > 0) ? decode(tagged.substring(0, index)) : null;
    }

    /** The namespace, uid and service of one of this prefix's link keys, or null if the key is not one. */
    String[] parseLink(String key) {
        String start = this.prefix + ":{u:";
        String middle = "}:link:";
        int end = key.lastIndexOf(middle);
        if (!key.startsWith(start) || end < start.length()) {
            return null;
        }
        String[] user = key.substring(start.length(), end).split(":", -1);
        if (user.length != 2) {
            return null;
        }
        String namespace = decode(user[0]);
        String uid = decode(user[1]);
        String service = decode(key.substring(end + middle.length()));
        return (namespace != null && uid != null && service != null) ? new String[] { namespace, uid, service }
                : null;
    }

    String linkChange(String namespace, String uid, String service) {
        return encode(namespace) + ' ' + encode(uid) + ' ' + encode(service);
    }

    /**
     * The namespace, uid and service of a link change message, or null if it is not one (three
     * non-empty ids encoded as {@link #encode} does, separated by single spaces).
     */
    static String[] parseLinkChange(String message) {
        String[] parts = message.split(" ", -1);
        if (parts.length != 3) {
            return null;
        }
        for (int i = 0; i < parts.length; i++) {
            parts[i] = decode(parts[i]);
            if (parts[i] == null) {
                return null;
            }
        }
        return parts;
    }

    private String serviceTag(String namespace, String service) {
        return this.prefix + ":{s:" + encode(namespace) + ':' + encode(service) + '}';
    }

    /** Percent-encodes every UTF-8 byte outside {@code [A-Za-z0-9._-]}; ids of safe chars only are returned as they are. */
    static String encode(String id) {
        int length = id.length();
        int i = 0;
        while (i < length && isSafe(id.charAt(i))) {
            i++;
        }
        if (i == length) {
            return id;
        }
        StringBuilder encoded = new StringBuilder(length + 16).append(id, 0, i);
        for (byte b : id.substring(i).getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xFF);
            if (isSafe(c)) {
                encoded.append(c);
            }
            else {
                encoded.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xF, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xF, 16)));
            }
        }
        return encoded.toString();
    }

    /** The id {@link #encode} was given, or null if {@code encoded} is not something it returns. */
    static String decode(String encoded) {
        if (encoded.isEmpty() || encoded.length() > 3 * 4 * RouteArguments.MAX_ID_LENGTH) {
            return null;
        }
        ByteArrayOutputStream bytes = null;
        for (int i = 0; i < encoded.length(); i++) {
            char c = encoded.charAt(i);
            if (c == '%' && i + 2 < encoded.length() && hex(encoded.charAt(i + 1)) >= 0
                    && hex(encoded.charAt(i + 2)) >= 0) {
                if (bytes == null) {
                    bytes = new ByteArrayOutputStream(encoded.length());
                    bytes.write(encoded.getBytes(StandardCharsets.US_ASCII), 0, i);
                }
                bytes.write(hex(encoded.charAt(i + 1)) * 16 + hex(encoded.charAt(i + 2)));
                i += 2;
            }
            else if (isSafe(c)) {
                if (bytes != null) {
                    bytes.write(c);
                }
            }
            else {
                return null;
            }
        }
        return (bytes == null) ? encoded : bytes.toString(StandardCharsets.UTF_8);
    }

    private static int hex(char c) {
        return ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) ? Character.digit(c, 16) : -1;
    }

    private static boolean isSafe(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                || c == '.';
    }
}
