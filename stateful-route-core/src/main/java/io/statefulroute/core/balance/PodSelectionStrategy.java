package io.statefulroute.core.balance;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import io.statefulroute.core.state.PodState;

/**
 * The built-in ways to pick a pod for a new user.
 */
public enum PodSelectionStrategy {

    /**
     * Power of two choices: two random routable pods, the less loaded wins. Spreads load
     * like least-loaded but without every gateway herding onto the same pod between
     * heartbeats. The default.
     */
    LOAD_AWARE {
        @Override
        public PodSelector newSelector() {
            return (service, routable) -> {
                int size = routable.size();
                if (size == 1) {
                    return routable.get(0);
                }
                ThreadLocalRandom random = ThreadLocalRandom.current();
                int first = random.nextInt(size);
                int second = random.nextInt(size - 1);
                if (second >= first) {
                    second++;
                }
                PodState a = routable.get(first);
                PodState b = routable.get(second);
                return (b.loadScore() < a.loadScore()) ? b : a;
            };
        }
    },

    /** A uniformly random routable pod. */
    RANDOM {
        @Override
        public PodSelector newSelector() {
            return (service, routable) -> routable.get(ThreadLocalRandom.current().nextInt(routable.size()));
        }
    },

    /** Routable pods in turn, per service. */
    ROUND_ROBIN {
        @Override
        public PodSelector newSelector() {
            ConcurrentHashMap<String, AtomicInteger> turns = new ConcurrentHashMap<>();
            return (service, routable) -> {
                int turn = turns.computeIfAbsent(service, (s) -> new AtomicInteger()).getAndIncrement();
                return routable.get(Math.floorMod(turn, routable.size()));
            };
        }
    },

    /**
     * Smooth weighted round robin (as in nginx), each pod weighted by its headroom
     * {@code 1 / (1 + loadScore)}: lightly loaded pods get proportionally more new users.
     */
    WEIGHTED_ROUND_ROBIN {
        @Override
        public PodSelector newSelector() {
            return new WeightedRoundRobinSelector();
        }
    },

    /** The routable pod with the lowest load score (e.g. fewest connections); ties go to the lowest index. */
    LEAST_LOADED {
        @Override
        public PodSelector newSelector() {
            return (service, routable) -> {
                PodState best = routable.get(0);
                for (int i = 1; i < routable.size(); i++) {
                    if (routable.get(i).loadScore() < best.loadScore()) {
                        best = routable.get(i);
                    }
                }
                return best;
            };
        }
    },

    /**
     * The routable pod with the lowest average response time recorded through
     * {@link PodSelector#recordResponseTime}; pods not measured yet are tried first.
     */
    LEAST_RESPONSE_TIME {
        @Override
        public PodSelector newSelector() {
            return new LeastResponseTimeSelector();
        }
    };

    /** A new selector of this strategy; each keeps its own state (turns, averages). */
    public abstract PodSelector newSelector();

    /** Picks uniformly among pods the selector considers equal, without the clock as a source of randomness. */
    static PodState any(List<PodState> pods) {
        return pods.get(ThreadLocalRandom.current().nextInt(pods.size()));
    }
}
