package io.statefulroute.cloud.loadbalancer;

import java.net.URI;

import io.statefulroute.core.InvalidRouteArgumentException;
import org.junit.jupiter.api.Test;

import org.springframework.cloud.client.loadbalancer.RequestData;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.util.LinkedMultiValueMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class RequestUidResolversTests {

    private static RequestData request(String url, String header, String cookie) {
        HttpHeaders headers = new HttpHeaders();
        if (header != null) {
            headers.add("X-User-Id", header);
        }
        LinkedMultiValueMap<String, String> cookies = new LinkedMultiValueMap<>();
        if (cookie != null) {
            cookies.add("uid", cookie);
        }
        return new RequestData(HttpMethod.GET, URI.create(url), headers, cookies, java.util.Map.of());
    }

    @Test
    void eachSourceReadsItsPartOfTheRequest() {
        RequestData data = request("http://gw/lobby/al%20ice/chat?uid=b%C3%B6b&x=1", "carol", "dave");

        assertThat(RequestUidResolvers.header("X-User-Id").resolve(data).block()).isEqualTo("carol");
        assertThat(RequestUidResolvers.cookie("uid").resolve(data).block()).isEqualTo("dave");
        assertThat(RequestUidResolvers.queryParameter("uid").resolve(data).block()).isEqualTo("böb");
        assertThat(RequestUidResolvers.pathSegment(1).resolve(data).block()).isEqualTo("al ice");
        assertThat(RequestUidResolvers.pathSegment(0).resolve(data).block()).isEqualTo("lobby");
    }

    @Test
    void aRequestWithoutTheUidHasNone() {
        RequestData bare = request("http://gw/lobby", null, null);

        assertThat(RequestUidResolvers.header("X-User-Id").resolve(bare).blockOptional()).isEmpty();
        assertThat(RequestUidResolvers.cookie("uid").resolve(bare).blockOptional()).isEmpty();
        assertThat(RequestUidResolvers.queryParameter("uid").resolve(bare).blockOptional()).isEmpty();
        assertThat(RequestUidResolvers.pathSegment(3).resolve(bare).blockOptional()).isEmpty();
        assertThat(RequestUidResolvers.header("X-User-Id").resolve(null).blockOptional()).isEmpty();
        assertThat(RequestUidResolvers.queryParameter("uid").resolve(request("http://gw/?uid=", null, null))
            .blockOptional()).isEmpty();
        assertThatIllegalArgumentException().isThrownBy(() -> RequestUidResolvers.pathSegment(-1));
    }

    /**
     * Escapes of bytes that are not UTF-8 (a lone continuation byte, an overlong encoding, a
     * cut multi-byte character, an encoded surrogate) are refused with the typed error a
     * gateway answers 400: never decoded to U+FFFD, which would make distinct raw uids one
     * user, nor thrown as an IllegalArgumentException, which a gateway answers 500.
     */
    @Test
    void escapedBytesThatAreNotUtf8AreRefusedAsAnInvalidUid() {
        for (String raw : new String[] { "%80", "al%C0%AFice", "b%C3", "b%C3x", "%F0%9F%98", "%ED%A0%80" }) {
            assertThatExceptionOfType(InvalidRouteArgumentException.class).as(raw)
                .isThrownBy(() -> RequestUidResolvers.pathSegment(1)
                    .resolve(request("http://gw/lobby/" + raw + "/chat", null, null)).block())
                .satisfies((ex) -> assertThat(ex.getArgument()).isEqualTo("uid"))
                .withMessageContaining("path segment 1 is not valid percent-encoded UTF-8");
            assertThatExceptionOfType(InvalidRouteArgumentException.class).as(raw)
                .isThrownBy(() -> RequestUidResolvers.queryParameter("uid")
                    .resolve(request("http://gw/lobby?uid=" + raw, null, null)).block())
                .withMessageContaining("query parameter 'uid' is not valid percent-encoded UTF-8");
        }
    }

    /**
     * A malformed escape cannot reach a resolver through a {@code java.net.URI} (it refuses
     * them), but the decoder does not rely on it: a truncated escape or a non-hex digit (also a
     * non-ASCII one, which {@code Character.digit} would take) is malformed.
     */
    @Test
    void malformedEscapesDoNotDecode() {
        for (String raw : new String[] { "al%", "al%2", "al%ZZice", "al%2G", "%\u0663\u0663", "%%41" }) {
            assertThat(RequestUidResolvers.decode(raw, false)).as(raw).isNull();
            assertThat(RequestUidResolvers.decode(raw, true)).as(raw).isNull();
        }
        assertThat(RequestUidResolvers.decode("a%2Bb+c", true)).isEqualTo("a+b c");
        assertThat(RequestUidResolvers.decode("a%2Bb+c", false)).isEqualTo("a+b+c");
    }

    @Test
    void wellFormedEscapesDecodeToTheSameUidWhateverTheirCase() {
        RequestData lower = request("http://gw/lobby/b%c3%b6b%f0%9f%98%80?uid=b%c3%b6b+x", null, null);
        RequestData upper = request("http://gw/lobby/b%C3%B6b%F0%9F%98%80?uid=b%C3%B6b%20x", null, null);

        assertThat(RequestUidResolvers.pathSegment(1).resolve(lower).block()).isEqualTo("böb😀")
            .isEqualTo(RequestUidResolvers.pathSegment(1).resolve(upper).block());
        assertThat(RequestUidResolvers.queryParameter("uid").resolve(lower).block()).isEqualTo("böb x")
            .isEqualTo(RequestUidResolvers.queryParameter("uid").resolve(upper).block());
        // a plus in a path is a plus
        assertThat(RequestUidResolvers.pathSegment(0).resolve(request("http://gw/a+b", null, null)).block())
            .isEqualTo("a+b");
    }

    /** Another parameter's malformed name or value is not the uid's business. */
    @Test
    void aMalformedOtherQueryParameterDoesNotAffectTheUid() {
        RequestData data = request("http://gw/lobby?%C3=1&x=%80&uid=alice", null, null);

        assertThat(RequestUidResolvers.queryParameter("uid").resolve(data).block()).isEqualTo("alice");
    }

    /** Header and cookie values are not percent-encoded: a percent sign is part of the uid. */
    @Test
    void headersAndCookiesAreTakenAsSentEvenWithPercentSigns() {
        RequestData data = request("http://gw/lobby", "al%ZZice", "b%C3");

        assertThat(RequestUidResolvers.header("X-User-Id").resolve(data).block()).isEqualTo("al%ZZice");
        assertThat(RequestUidResolvers.cookie("uid").resolve(data).block()).isEqualTo("b%C3");
    }

}
