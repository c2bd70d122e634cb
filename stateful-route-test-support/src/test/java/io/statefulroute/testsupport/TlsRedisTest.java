package io.statefulroute.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.api.StatefulRedisConnection;

class TlsRedisTest {

    @Test
    void servesTlsOnlyWithTheGivenCertificate() {
        SelfSignedCertificate certificate = SelfSignedCertificate.create();
        try (RedisServer server = RedisServers.standalone()
                .tls(certificate.certificateFile(), certificate.privateKeyFile(), certificate.certificateFile())
                .start()) {
            assertThat(server.uri()).isEqualTo("rediss://127.0.0.1:" + server.port());
            assertThat(server.toString()).endsWith("(TLS)");
            // The plain protocol is refused on the TLS port.
            assertThat(Resp.ping(server.host(), server.port())).isFalse();

            RedisURI uri = RedisURI.create(server.uri());
            uri.setTimeout(Duration.ofSeconds(5));
            RedisClient client = RedisClient.create(uri);
            client.setOptions(ClientOptions.builder()
                    .sslOptions(SslOptions.builder().jdkSslProvider()
                            .trustManager(certificate.certificateFile().toFile()).build())
                    .build());
            try (StatefulRedisConnection<String, String> connection = client.connect()) {
                assertThat(connection.sync().ping()).isEqualTo("PONG");
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }

            server.stop();
            server.start();
            assertThat(server.isRunning()).isTrue();
        }
    }
}
