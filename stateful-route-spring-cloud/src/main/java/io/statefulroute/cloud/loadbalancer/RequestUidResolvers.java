package io.statefulroute.cloud.loadbalancer;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

import org.springframework.cloud.client.loadbalancer.RequestData;
import org.springframework.util.StringUtils;
import org.springframework.web.util.UriUtils;

import reactor.core.publisher.Mono;

/**
 * {@link UidResolver}s that read the uid from the request itself.
 */
public final class RequestUidResolvers {

    private RequestUidResolvers() {
    }

    /** The value of a request header. */
    public static UidResolver header(String name) {
        return (request) -> present((request != null) ? request.getHeaders().getFirst(name) : null);
    }

    /** The value of a cookie. */
    public static UidResolver cookie(String name) {
        return (request) -> present((request != null && request.getCookies() != null)
                ? request.getCookies().getFirst(name) : null);
    }

    /** The (decoded) value of a query parameter. */
    public static UidResolver queryParameter(String name) {
        return (request) -> {
            String query = (request != null && request.getUrl() != null) ? request.getUrl().getRawQuery() : null;
            if (query != null) {
                for (String pair : query.split("&")) {
                    int eq = pair.indexOf('=');
                    if (eq > 0 && name.equals(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8))) {
                        return present(URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                    }
                }
            }
            return Mono.empty();
        };
    }

    /**
     * One segment of the request path, 0 being the first: with 1, {@code /lobby/alice/chat}
     * belongs to {@code alice}.
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
            return present((index < segments.length) ? UriUtils.decode(segments[index], StandardCharsets.UTF_8)
                    : null);
        };
    }

    static Mono<String> present(String uid) {
        return StringUtils.hasLength(uid) ? Mono.just(uid) : Mono.empty();
    }

}
