package io.statefulroute.core.rebalance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.statefulroute.core.InvalidRouteArgumentException;
import io.statefulroute.core.rebalance.RebalancePlan.Peer;
import io.statefulroute.core.rebalance.RebalanceRound.Decision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

class RebalancePlanTest {

    private static final int NONE = Integer.MAX_VALUE;

    /** 10 % tolerance, rounds of 10 s at 1,000 moves/s: the share is the only cap that bites. */
    private static final RebalanceOptions OPTIONS = new RebalanceOptions(Duration.ofSeconds(10), 0.1, 0.1, 1000);

    private static final RebalanceOptions UNCAPPED = new RebalanceOptions(Duration.ofSeconds(10), 0.1, 1.0, 1000);

    @Test
    void aPodWithinTheToleranceAboveTheMeanStays() {
        RebalancePlan plan = RebalancePlan.of(109, List.of(new Peer(1, 100, NONE), new Peer(2, 91, NONE)), OPTIONS,
                false);

        assertThat(plan.decision()).isEqualTo(Decision.BALANCED);
        assertThat(plan.mean()).isEqualTo(100.0);
        assertThat(plan.quotas()).isEmpty();
    }

    @Test
    void threeFullPodsEachSendTheNewOneAShareOfTheirUsersPerRound() {
        RebalancePlan plan = RebalancePlan.of(300, List.of(new Peer(0, 300, NONE), new Peer(2, 300, NONE),
                new Peer(3, 0, NONE)), OPTIONS, false);

        assertThat(plan.decision()).isEqualTo(Decision.PROPOSED);
        assertThat(plan.mean()).isEqualTo(225.0);
        assertThat(plan.pods()).isEqualTo(4);
        assertThat(plan.quotas()).as("10 %% of 300 users, not the whole excess of 75").containsExactly(Map.entry(3, 30));
    }

    @Test
    void aPodThatStartedSheddingGoesOnDownToTheMeanButNoFurther() {
        List<Peer> peers = List.of(new Peer(1, 90, NONE));
        assertThat(RebalancePlan.of(105, peers, OPTIONS, false).decision()).as("within the tolerance")
            .isEqualTo(Decision.BALANCED);
        assertThat(RebalancePlan.of(105, peers, UNCAPPED, true).quotas()).as("shedding: down to the mean, 97.5 up")
            .containsExactly(Map.entry(1, 7));
        assertThat(RebalancePlan.of(98, List.of(new Peer(1, 97, NONE)), UNCAPPED, true).decision())
            .as("at the mean rounded up").isEqualTo(Decision.BALANCED);
    }

    @Test
    void movesGoToThePodsBelowTheMeanInProportionToHowFarBelowTheyAre() {
        RebalancePlan plan = RebalancePlan.of(400, List.of(new Peer(1, 100, NONE), new Peer(2, 200, NONE),
                new Peer(3, 300, NONE)), UNCAPPED, false);

        assertThat(plan.mean()).isEqualTo(250.0);
        assertThat(plan.quotas()).as("deficits 150 and 50, excess 150").containsExactly(Map.entry(1, 113),
                Map.entry(2, 37));
    }

    @Test
    void podsReadingTheSameCountsTogetherFillEachNeedyPodToTheMean() {
        int[] counts = { 500, 400, 300, 100, 0, 30 };
        Map<Integer, Integer> received = new HashMap<>();
        for (int self = 0; self < counts.length; self++) {
            List<Peer> peers = new ArrayList<>();
            for (int other = 0; other < counts.length; other++) {
                if (other != self) {
                    peers.add(new Peer(other, counts[other], NONE));
                }
            }
            RebalancePlan.of(counts[self], peers, UNCAPPED, false).quotas()
                .forEach((pod, moves) -> received.merge(pod, moves, Integer::sum));
        }
        // mean 221.67, level 222; excess 278 + 178 + 78 = 534, deficits 122 + 222 + 192 = 536
        assertThat(received).containsOnlyKeys(3, 4, 5);
        assertThat(received.get(3)).isBetween(121, 122);
        assertThat(received.get(4)).isBetween(221, 222);
        assertThat(received.get(5)).isBetween(191, 192);
        assertThat(received.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(534);
    }

    @Test
    void aTargetGetsNoMoreThanItsDeclaredRoom() {
        RebalancePlan plan = RebalancePlan.of(300, List.of(new Peer(1, 0, 10), new Peer(2, 280, NONE)), UNCAPPED,
                false);

        assertThat(plan.mean()).isCloseTo(193.3, offset(0.1));
        assertThat(plan.quotas()).containsExactly(Map.entry(1, 10));
    }

    @Test
    void withNoRoomBelowTheMeanNothingIsProposed() {
        RebalancePlan plan = RebalancePlan.of(300, List.of(new Peer(1, 0, 0), new Peer(2, 280, NONE)), UNCAPPED, false);

        assertThat(plan.decision()).isEqualTo(Decision.NO_ROOM);
        assertThat(plan.quotas()).isEmpty();
    }

    @Test
    void aPodAloneHasNobodyToCompareWith() {
        assertThat(RebalancePlan.of(300, List.of(), OPTIONS, false).decision()).isEqualTo(Decision.NO_PEERS);
    }

    @Test
    void aRoundMovesNoMoreThanTheRateAllowsInOneInterval() {
        RebalanceOptions slow = new RebalanceOptions(Duration.ofMillis(500), 0.1, 1.0, 20);

        assertThat(slow.movesPerRound(300)).isEqualTo(10);
        assertThat(RebalancePlan.of(300, List.of(new Peer(1, 0, NONE)), slow, false).quotas())
            .containsExactly(Map.entry(1, 10));
        assertThat(new RebalanceOptions(Duration.ofMillis(10), 0.1, 0.01, 1).movesPerRound(5))
            .as("at least one move per round").isOne();
    }

    @Test
    void optionsOutOfRangeAreRejected() {
        assertThatThrownBy(() -> new RebalanceOptions(Duration.ZERO, 0.1, 0.1, 1))
            .isInstanceOf(InvalidRouteArgumentException.class).hasMessageContaining("interval");
        assertThatThrownBy(() -> new RebalanceOptions(Duration.ofSeconds(1), -0.1, 0.1, 1))
            .isInstanceOf(InvalidRouteArgumentException.class).hasMessageContaining("tolerance");
        assertThatThrownBy(() -> new RebalanceOptions(Duration.ofSeconds(1), 0.1, 1.5, 1))
            .isInstanceOf(InvalidRouteArgumentException.class).hasMessageContaining("maxShare");
        assertThatThrownBy(() -> new RebalanceOptions(Duration.ofSeconds(1), 0.1, 0.1, 0))
            .isInstanceOf(InvalidRouteArgumentException.class).hasMessageContaining("maxMovesPerSecond");
    }
}
