package io.statefulroute.analyzer;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Increases of cumulative counts over the analyzer's window. */
class CountHistoryTests {

    private static final long SECOND = 1_000_000_000L;

    private final CountHistory history = new CountHistory(60 * SECOND);

    @Test
    void whileYoungerThanTheWindowCountsSinceZero() {
        assertThat(this.history.increase("errors", 3, 0)).isEqualTo(3);
        assertThat(this.history.increase("errors", 5, 10 * SECOND)).isEqualTo(5);
        assertThat(this.history.increase("errors", 5, 59 * SECOND)).isEqualTo(5);
    }

    @Test
    void thenCountsSinceTheLastSampleAtLeastAWindowAgo() {
        this.history.increase("errors", 3, 0);
        this.history.increase("errors", 5, 30 * SECOND);
        assertThat(this.history.increase("errors", 9, 60 * SECOND)).isEqualTo(6);
        assertThat(this.history.increase("errors", 9, 89 * SECOND)).isEqualTo(6);
        assertThat(this.history.increase("errors", 10, 95 * SECOND)).isEqualTo(5);
    }

    @Test
    void aResetCountCountsFromZero() {
        this.history.increase("errors", 7, 0);
        assertThat(this.history.increase("errors", 2, 70 * SECOND)).isEqualTo(2);
    }

}
