package io.statefulroute.core.link;

import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import static org.assertj.core.api.Assertions.assertThat;

class BatchedMaintenanceTest {

    @Test
    void aRequestRunsOnceAtTheNextBatchBoundaryNotAfterEachWrite() {
        BatchedMaintenance maintenance = new BatchedMaintenance();
        AtomicInteger runs = new AtomicInteger();
        maintenance.execute(runs::incrementAndGet);

        for (int i = 1; i < BatchedMaintenance.WRITES_PER_RUN; i++) {
            maintenance.written();
        }
        assertThat(runs).hasValue(0);
        maintenance.written();
        assertThat(runs).hasValue(1);

        // nothing asked for since: a whole batch of writes runs nothing
        for (int i = 0; i < BatchedMaintenance.WRITES_PER_RUN; i++) {
            maintenance.written();
        }
        maintenance.runPending();
        assertThat(runs).hasValue(1);
    }

    @Test
    void aCaffeineCacheStaysWithinABatchOfItsMaximumAndAtItOnceThePendingRunIsDone() {
        BatchedMaintenance maintenance = new BatchedMaintenance();
        Cache<Integer, Integer> cache = Caffeine.newBuilder().executor(maintenance).maximumSize(100).build();

        for (int i = 0; i < 10_000; i++) {
            cache.put(i, i);
            maintenance.written();
            assertThat(cache.estimatedSize()).isLessThanOrEqualTo(100 + BatchedMaintenance.WRITES_PER_RUN);
        }
        maintenance.runPending();
        assertThat(cache.estimatedSize()).isLessThanOrEqualTo(100);
    }
}
