package io.statefulroute.core.balance;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.statefulroute.core.state.PodState;
import io.statefulroute.core.state.RoutingState;

import static org.assertj.core.api.Assertions.assertThat;

/** Pure selection logic over fixed pod lists. */
class PodSelectionStrategyTest {

    private static PodState pod(int index, double load) {
        return new PodState(index, load, RoutingState.READY, 0);
    }

    private static Map<Integer, Integer> pick(PodSelector selector, List<PodState> pods, int times) {
        Map<Integer, Integer> counts = new HashMap<>();
        for (int i = 0; i < times; i++) {
            counts.merge(selector.select("chat", pods).podIndex(), 1, Integer::sum);
        }
        return counts;
    }

    @ParameterizedTest
    @EnumSource(PodSelectionStrategy.class)
    void everyStrategyPicksOnlyAmongTheGivenPods(PodSelectionStrategy strategy) {
        List<PodState> pods = List.of(pod(0, 1), pod(3, 2), pod(9, 3));
        assertThat(pick(strategy.newSelector(), pods, 300).keySet()).isSubsetOf(0, 3, 9);
        assertThat(strategy.newSelector().select("chat", List.of(pod(4, 50))).podIndex()).isEqualTo(4);
    }

    @Test
    void loadAwareNeverPicksTheMostLoadedPodAndStillSpreads() {
        Map<Integer, Integer> counts = pick(PodSelectionStrategy.LOAD_AWARE.newSelector(),
                List.of(pod(0, 10), pod(1, 20), pod(2, 90)), 3_000);
        assertThat(counts).doesNotContainKey(2);
        // pod 0 wins whenever it is drawn (2 of 3 pairs); pod 1 only against pod 2
        assertThat(counts.get(0)).isBetween(1_800, 2_200);
        assertThat(counts.get(1)).isBetween(800, 1_200);
    }

    @Test
    void roundRobinTakesTurnsPerService() {
        PodSelector selector = PodSelectionStrategy.ROUND_ROBIN.newSelector();
        List<PodState> pods = List.of(pod(0, 0), pod(1, 0), pod(2, 0));
        assertThat(List.of(selector.select("a", pods).podIndex(), selector.select("a", pods).podIndex(),
                selector.select("b", pods).podIndex(), selector.select("a", pods).podIndex()))
            .containsExactly(0, 1, 0, 2);
    }

    @Test
    void weightedRoundRobinFollowsHeadroom() {
        // weights 1/(1+0) = 1 and 1/(1+3) = 0.25: four to one
        Map<Integer, Integer> counts = pick(PodSelectionStrategy.WEIGHTED_ROUND_ROBIN.newSelector(),
                List.of(pod(0, 0), pod(1, 3)), 1_000);
        assertThat(counts.get(0)).isEqualTo(800);
        assertThat(counts.get(1)).isEqualTo(200);
    }

    @Test
    void leastLoadedPicksTheLowestScore() {
        assertThat(PodSelectionStrategy.LEAST_LOADED.newSelector()
            .select("chat", List.of(pod(0, 5), pod(1, 2), pod(2, 2), pod(3, 7))).podIndex()).isEqualTo(1);
    }

    @Test
    void leastResponseTimeTriesUnmeasuredPodsThenTheFastest() {
        PodSelector selector = PodSelectionStrategy.LEAST_RESPONSE_TIME.newSelector();
        List<PodState> pods = List.of(pod(0, 0), pod(1, 0), pod(2, 0));
        selector.recordResponseTime("chat", 0, 5_000_000);
        selector.recordResponseTime("chat", 2, 1_000_000);
        assertThat(selector.select("chat", pods).podIndex()).isEqualTo(1);

        selector.recordResponseTime("chat", 1, 9_000_000);
        assertThat(selector.select("chat", pods).podIndex()).isEqualTo(2);
    }
}
