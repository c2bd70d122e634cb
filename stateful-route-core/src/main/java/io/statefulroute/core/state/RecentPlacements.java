package io.statefulroute.core.state;

import java.util.Arrays;

/**
 * The new users this process linked to each pod of one service lately, by when: a pod's
 * published user count is up to a heartbeat period plus a refresh period old, so a gateway
 * judges the pod's capacity by that count plus the users it placed there since the count was
 * published, and never fills a pod past its capacity on its own by more than the users it has
 * in flight.
 *
 * <p>Counts go into a ring of {@value #BUCKETS} time buckets per pod, each a
 * {@value #BUCKETS_PER_EXPIRY}th of the pod expiry long: the ring spans more than a pod expiry,
 * and a live pod's count is never older than that. Only pods that limit their users are
 * counted. Shared by the successive views of the service.
 */
final class RecentPlacements {

    private static final int BUCKETS = 256;

    private static final int BUCKETS_PER_EXPIRY = 200;

    private static final long MIN_BUCKET_NANOS = 5_000_000;

    private final long bucketNanos;

    /** Pods by index, grown as placed on; null where nothing was placed. */
    private volatile Pod[] pods = new Pod[0];

    /** @param podExpiryMillis the longest a live pod's count can be old; the ring spans more */
    RecentPlacements(long podExpiryMillis) {
        this.bucketNanos = Math.max(MIN_BUCKET_NANOS, podExpiryMillis * 1_000_000 / BUCKETS_PER_EXPIRY);
    }

    /** Counts a new user linked to the pod at {@code nowNanos} ({@link System#nanoTime()}). */
    void placed(int podIndex, long nowNanos) {
        pod(podIndex).add(Math.floorDiv(nowNanos, this.bucketNanos));
    }

    /**
     * The users placed on the pod since {@code fromNanos} (the moment its count was published,
     * on this process's clock), counting the whole bucket that moment falls in: a user placed
     * just before may not have reached the pod when it counted. So a user the pod counted
     * already may be counted again, at most those of one bucket, until the pod's next count;
     * none placed since is missed.
     */
    int since(int podIndex, long fromNanos) {
        Pod[] current = this.pods;
        Pod pod = (podIndex < current.length) ? current[podIndex] : null;
        return (pod == null) ? 0 : pod.since(Math.floorDiv(fromNanos, this.bucketNanos));
    }

    private Pod pod(int podIndex) {
        Pod[] current = this.pods;
        if (podIndex < current.length && current[podIndex] != null) {
            return current[podIndex];
        }
        synchronized (this) {
            Pod[] grown = this.pods;
            if (podIndex >= grown.length) {
                Pod[] copy = new Pod[podIndex + 1];
                System.arraycopy(grown, 0, copy, 0, grown.length);
                grown = copy;
            }
            if (grown[podIndex] == null) {
                grown[podIndex] = new Pod();
            }
            this.pods = grown;
            return grown[podIndex];
        }
    }

    /**
     * One pod's ring. A gateway asks for the count since the same heartbeat on every new user
     * until the next one is read, so the sum over the ring is kept for that heartbeat and
     * topped up with the placements counted since.
     */
    private static final class Pod {

        private final long[] bucketOf = new long[BUCKETS];

        private final int[] counts = new int[BUCKETS];

        private volatile long total;

        private volatile Sum sum = new Sum(Long.MIN_VALUE, 0, 0);

        private record Sum(long fromBucket, int count, long totalThen) {
        }

        Pod() {
            Arrays.fill(this.bucketOf, Long.MIN_VALUE);
        }

        synchronized void add(long bucket) {
            int slot = (int) Math.floorMod(bucket, (long) BUCKETS);
            if (this.bucketOf[slot] != bucket) {
                this.bucketOf[slot] = bucket;
                this.counts[slot] = 0;
            }
            this.counts[slot]++;
            this.total++;
        }

        int since(long fromBucket) {
            Sum last = this.sum;
            if (last.fromBucket() == fromBucket) {
                return last.count() + (int) (this.total - last.totalThen());
            }
            synchronized (this) {
                int count = 0;
                for (int slot = 0; slot < BUCKETS; slot++) {
                    if (this.bucketOf[slot] >= fromBucket) {
                        count += this.counts[slot];
                    }
                }
                this.sum = new Sum(fromBucket, count, this.total);
                return count;
            }
        }
    }
}
