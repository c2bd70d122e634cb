package io.statefulroute.core.state;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.statefulroute.core.InvalidRouteArgumentException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PodAddressTest {

    @Test
    void entryFieldHoldsNoColonAndReadsBack() {
        PodAddress address = new PodAddress("https", "fd00::1:5", 8443,
                Map.of("zone", "eu west:1a", "rack", "r=7&x", "é", "ü"));

        String field = address.toEntryField();

        assertThat(field).doesNotContain(":").matches("[A-Za-z0-9._~%-]+");
        assertThat(PodAddress.fromEntryField(field)).isEqualTo(address);
        assertThat(address.uri().toString()).isEqualTo("https://[fd00::1:5]:8443");
        assertThat(address.metadata().keySet()).containsExactly("rack", "zone", "é");
    }

    @Test
    void plainAddressReadsBackWithoutMetadata() {
        PodAddress address = new PodAddress("http", "10.1.2.3", 8080);

        assertThat(PodAddress.fromEntryField(address.toEntryField())).isEqualTo(address);
        assertThat(address.uri().toString()).isEqualTo("http://10.1.2.3:8080");
    }

    @Test
    void badAddressesAreRejectedByName() {
        assertThatThrownBy(() -> new PodAddress("HTTP", "h", 80)).isInstanceOf(InvalidRouteArgumentException.class)
            .hasMessageContaining("scheme");
        assertThatThrownBy(() -> new PodAddress("http", "a b", 80)).hasMessageContaining("host");
        assertThatThrownBy(() -> new PodAddress("http", "h", 0)).hasMessageContaining("port");
        assertThatThrownBy(() -> new PodAddress("http", "h", 80, Map.of(" ", "v"))).hasMessageContaining("metadata");
        assertThatThrownBy(() -> new PodAddress("http", "h", 80, Map.of("k", "v".repeat(2000))))
            .hasMessageContaining("at most " + PodAddress.MAX_ENCODED_LENGTH);
    }

    @Test
    void fieldsThatAreNoAddressAreRefused() {
        assertThatIllegalArgumentException().isThrownBy(() -> PodAddress.fromEntryField("garbage"));
        assertThatIllegalArgumentException().isThrownBy(() -> PodAddress.fromEntryField("http%3A%2F%2Fh"));
    }
}
