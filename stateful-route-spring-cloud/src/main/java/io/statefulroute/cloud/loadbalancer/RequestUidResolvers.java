package io.statefulroute.cloud.loadbalancer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import io.statefulroute.core.InvalidRouteArgumentException;

import org.springframework.cloud.client.loadbalancer.RequestData;
import org.springframework.util.StringUtils;

import reactor.core.publisher.Mono;

/**
 * {@link UidResolver}s that read the uid from the request itself. A header or cookie value
 * is the uid as sent; a query parameter or path segment is percent-decoded as UTF-8, and
 * one that is not valid percent-encoded UTF-8 fails the request with an
 * {@link InvalidRouteArgumentException} (a gateway answers {@code 400}) rather than being
 * decoded leniently: a lenient decoder turns every malformed byte into the same
 * replacement character, so distinct raw uids would become one user.
 */
public final class RequestUidResolvers {

    private RequestUidResolvers() {
    }

    /** The value of a request header, as sent. */
    public static UidResolver header(String name) {
        return (request) -> present((request != null) ? request.getHeaders().getFirst(name) : null);
    }

    /** The value of a cookie, as sent. */
    public static UidResolver cookie(String name) {
        return (request) -> present((request != null && request.getCookies() != null)
                ? request.getCookies().getFirst(name) : null);
    }

    /** The decoded value of a query parameter ({@code +} is a space, as in a form). */
    public static UidResolver queryParameter(String name) {
        return (request) -> {
            String query = (request != null && request.getUrl() != null) ? request.getUrl().getRawQuery() : null;
            if (query == null) {
                return Mono.empty();
            }
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                // a name that does not decode is not the one looked for, and is not this resolver's to refuse
                if (eq > 0 && name.equals(decode(pair.substring(0, eq), true))) {
                    String uid = decode(pair.substring(eq + 1), true);
                    return (uid != null) ? present(uid) : malformed("query parameter '" + name + "'");
                }
            }
            return Mono.empty();
        };
    }

    /**
     * One segment of the request path, 0 being the first, decoded: with 1,
     * {@code /lobby/alice/chat} belongs to {@code alice}.
     */
    public static UidResolver pathSegment(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("path segment index " + index + " must be >= 0");
        }
        return (request) -> {
            if (request == null || request.getUrl() == null) {
                return Mono.empty();
            }
            String[] segments = StringUtils.tokenizeToStringArray(request.getUrl().getRawPath(), "/");
            if (index >= segments.length) {
                return Mono.empty();
            }
            String uid = decode(segments[index], false);
            return (uid != null) ? present(uid) : malformed("path segment " + index);
        };
    }

    static Mono<String> present(String uid) {
        return StringUtils.hasLength(uid) ? Mono.just(uid) : Mono.empty();
    }

    private static Mono<String> malformed(String where) {
        return Mono.error(new InvalidRouteArgumentException("uid", "the " + where
                + " is not valid percent-encoded UTF-8"));
    }

    /**
     * Percent-decodes {@code raw} as UTF-8, strictly.
     * @param plusIsSpace whether {@code +} stands for a space (a query string)
     * @return the decoded text, or null when an escape is not {@code %} and two hex digits or
     * the escaped bytes are not UTF-8
     */
    static String decode(String raw, boolean plusIsSpace) {
        if (raw.indexOf('%') < 0) {
            return plusIsSpace ? raw.replace('+', ' ') : raw;
        }
        StringBuilder decoded = new StringBuilder(raw.length());
        byte[] bytes = new byte[raw.length() / 3];
        int i = 0;
        while (i < raw.length()) {
            char c = raw.charAt(i);
            if (c != '%') {
                decoded.append((plusIsSpace && c == '+') ? ' ' : c);
                i++;
                continue;
            }
            // a run of escapes is one byte sequence: a character may take up to four of them
            int count = 0;
            while (i < raw.length() && raw.charAt(i) == '%') {
                if (i + 2 >= raw.length() || !HexFormat.isHexDigit(raw.charAt(i + 1))
                        || !HexFormat.isHexDigit(raw.charAt(i + 2))) {
                    return null;
                }
                bytes[count++] = (byte) ((HexFormat.fromHexDigit(raw.charAt(i + 1)) << 4)
                        | HexFormat.fromHexDigit(raw.charAt(i + 2)));
                i += 3;
            }
            try {
                // a new decoder reports malformed input instead of replacing it
                decoded.append(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes, 0, count)));
            }
            catch (CharacterCodingException ex) {
                return null;
            }
        }
        return decoded.toString();
    }

}
