package io.statefulroute.cloud.loadbalancer;

import java.net.URI;

import org.junit.jupiter.api.Test;

import org.springframework.cloud.client.loadbalancer.RequestData;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.util.LinkedMultiValueMap;

import static org.assertj.core.api.Assertions.assertThat;
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

}
