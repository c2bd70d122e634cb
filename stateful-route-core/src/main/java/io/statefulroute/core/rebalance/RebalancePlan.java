package io.statefulroute.core.rebalance;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One round's arithmetic, on user counts alone: whether this pod sheds users and how many go
 * to which pod.
 *
 * <p>The mean is over this pod and the other routable pods that publish a count. This pod
 * sheds when it holds more than the mean plus the tolerance, and once shedding goes on in
 * later rounds until it is down to the mean rounded up (so the tolerance decides when a
 * rebalance starts, not how uneven it leaves the pods). The pods below that level take the
 * moves in proportion to how far below they are, each at most up to it and to its room by
 * the capacity it declares: every overloaded pod, reading the same counts, sends each
 * underloaded pod its share, so together they fill it to the mean and no further.
 *
 * @param decision {@link RebalanceRound.Decision#BALANCED}, {@code NO_PEERS}, {@code NO_ROOM} or {@code PROPOSED}
 * @param mean the mean user count, NaN without peers
 * @param pods how many pods the mean is over
 * @param quotas moves per target pod, neediest first; empty unless proposed
 */
record RebalancePlan(RebalanceRound.Decision decision, double mean, int pods, Map<Integer, Integer> quotas) {

    /**
     * A pod that could take users.
     * @param podIndex the pod
     * @param users how many users it holds, as best known
     * @param room how many more users it takes by its capacity ({@link Integer#MAX_VALUE}: no limit)
     */
    record Peer(int podIndex, int users, int room) {
    }

    /**
     * @param users the users this pod holds
     * @param peers the other routable pods that publish a count
     * @param shedding whether this pod shed users in its previous round
     */
    static RebalancePlan of(int users, List<Peer> peers, RebalanceOptions options, boolean shedding) {
        if (peers.isEmpty()) {
            return new RebalancePlan(RebalanceRound.Decision.NO_PEERS, Double.NaN, 1, Map.of());
        }
        long total = users;
        for (Peer peer : peers) {
            total += peer.users();
        }
        int pods = peers.size() + 1;
        double mean = (double) total / pods;
        int level = (int) Math.ceil(mean);
        boolean over = users > mean * (1 + options.tolerance()) || shedding;
        if (!over || users <= level) {
            return new RebalancePlan(RebalanceRound.Decision.BALANCED, mean, pods, Map.of());
        }
        List<Peer> needy = new ArrayList<>();
        long room = 0;
        for (Peer peer : peers) {
            int deficit = Math.min(level - peer.users(), peer.room());
            if (deficit > 0) {
                needy.add(new Peer(peer.podIndex(), peer.users(), deficit));
                room += deficit;
            }
        }
        if (room == 0) {
            return new RebalancePlan(RebalanceRound.Decision.NO_ROOM, mean, pods, Map.of());
        }
        int budget = (int) Math.min(Math.min(users - level, options.movesPerRound(users)), room);
        return new RebalancePlan(RebalanceRound.Decision.PROPOSED, mean, pods, share(budget, needy, room));
    }

    /**
     * Splits the moves over the needy pods in proportion to their deficits (held in
     * {@link Peer#room()}), largest remainders first, so the quotas add up to the budget and
     * none exceeds its deficit.
     */
    private static Map<Integer, Integer> share(int budget, List<Peer> needy, long deficits) {
        needy.sort(Comparator.comparingInt(Peer::room).reversed().thenComparingInt(Peer::podIndex));
        int[] quotas = new int[needy.size()];
        double[] remainders = new double[needy.size()];
        int given = 0;
        for (int i = 0; i < needy.size(); i++) {
            double exact = (double) budget * needy.get(i).room() / deficits;
            quotas[i] = (int) Math.floor(exact);
            remainders[i] = exact - quotas[i];
            given += quotas[i];
        }
        List<Integer> byRemainder = new ArrayList<>();
        for (int i = 0; i < needy.size(); i++) {
            byRemainder.add(i);
        }
        byRemainder.sort(Comparator.comparingDouble((Integer i) -> remainders[i]).reversed());
        for (int i = 0; given < budget; i++) {
            int pick = byRemainder.get(i % byRemainder.size());
            if (quotas[pick] < needy.get(pick).room()) {
                quotas[pick]++;
                given++;
            }
        }
        Map<Integer, Integer> byPod = new LinkedHashMap<>();
        for (int i = 0; i < needy.size(); i++) {
            if (quotas[i] > 0) {
                byPod.put(needy.get(i).podIndex(), quotas[i]);
            }
        }
        return byPod;
    }
}
