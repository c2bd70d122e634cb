package io.statefulroute.core.state;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.statefulroute.core.InvalidRouteArgumentException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class WarmUpTest {

    @Test
    void theWeightRampsFromTheMinimumToOneOverTheDuration() {
        WarmUp linear = WarmUp.linear(Duration.ofSeconds(30));
        assertThat(linear.weight(-5_000)).as("a clock behind the stamp").isEqualTo(0.1);
        assertThat(linear.weight(0)).isEqualTo(0.1);
        assertThat(linear.weight(15_000)).isEqualTo(0.5);
        assertThat(linear.weight(29_999)).isLessThan(1);
        assertThat(linear.weight(30_000)).isEqualTo(1);
        WarmUp aggressive = new WarmUp(Duration.ofSeconds(30), 4, 0);
        assertThat(aggressive.weight(0)).isZero();
        assertThat(aggressive.weight(1_875)).isCloseTo(0.5, within(1e-9));
        assertThat(WarmUp.NONE.isEnabled()).isFalse();
        assertThat(WarmUp.NONE.weight(0)).isEqualTo(1);
    }

    @Test
    void settingsOutsideTheirRangeAreRefused() {
        assertThatThrownBy(() -> new WarmUp(Duration.ofSeconds(-1), 1, 0.1))
            .isInstanceOf(InvalidRouteArgumentException.class);
        assertThatThrownBy(() -> new WarmUp(Duration.ofDays(2), 1, 0.1)).hasMessageContaining("at most a day");
        assertThatThrownBy(() -> new WarmUp(Duration.ofSeconds(1), 0, 0.1)).hasMessageContaining("aggression");
        assertThatThrownBy(() -> new WarmUp(Duration.ofSeconds(1), Double.NaN, 0.1)).hasMessageContaining("aggression");
        assertThatThrownBy(() -> new WarmUp(Duration.ofSeconds(1), 1, 1.5)).hasMessageContaining("minimumWeight");
    }
}
