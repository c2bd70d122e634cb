package io.statefulroute.analyzer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.statefulroute.metrics.StatefulRouteMeters;

/**
 * The analyzer's built-in rules, each over the meters named in {@link StatefulRouteMeters}.
 * A rule with too little data in the window (or whose meters are absent) reports nothing.
 */
public final class BuiltInRules {

    /** Id of {@link #linkCacheHitRate}. */
    public static final String LINK_CACHE_HIT_RATE = "link-cache-hit-rate";

    /** Id of {@link #routingLatency}. */
    public static final String ROUTING_LATENCY = "routing-latency";

    /** Id of {@link #redisErrorRate}. */
    public static final String REDIS_ERROR_RATE = "redis-error-rate";

    /** Id of {@link #heartbeatFailures}. */
    public static final String HEARTBEAT_FAILURES = "heartbeat-failures";

    /** Id of {@link #noRoutablePod}. */
    public static final String NO_ROUTABLE_POD = "no-routable-pod";

    /** Id of {@link #loadImbalance}. */
    public static final String LOAD_IMBALANCE = "load-imbalance";

    /** Id of {@link #stalePodStates}. */
    public static final String STALE_POD_STATES = "stale-pod-states";

    private BuiltInRules() {
    }

    /**
     * Share of link cache lookups ({@code cache.gets} of the link cache) answered from the
     * cache, over the window, below {@code minimum}.
     */
    public static PerformanceRule linkCacheHitRate(double minimum, long minimumLookups) {
        return rule(LINK_CACHE_HIT_RATE, (context) -> {
            MeterRegistry registry = context.registry();
            FunctionCounter hits = registry.find("cache.gets").tags("cache", StatefulRouteMeters.LINK_CACHE, "result", "hit")
                .functionCounter();
            FunctionCounter misses = registry.find("cache.gets")
                .tags("cache", StatefulRouteMeters.LINK_CACHE, "result", "miss")
                .functionCounter();
            if (hits == null || misses == null) {
                return List.of();
            }
            double hit = context.increase("link-cache.hits", hits.count());
            double lookups = hit + context.increase("link-cache.misses", misses.count());
            FunctionCounter evictionCounter = registry.find("cache.evictions")
                .tags("cache", StatefulRouteMeters.LINK_CACHE)
                .functionCounter();
            double evictions = (evictionCounter != null) ? context.increase("link-cache.evictions", evictionCounter.count())
                    : 0;
            context.measure("link-cache.lookups", lookups);
            context.measure("link-cache.evictions", evictions);
            if (lookups < minimumLookups || lookups == 0) {
                return List.of();
            }
            double rate = hit / lookups;
            context.measure("link-cache.hit-rate", rate);
            if (rate >= minimum) {
                return List.of();
            }
            return List.of(new Finding(LINK_CACHE_HIT_RATE, Severity.WARNING, "link cache", rate, minimum,
                    String.format(Locale.ROOT, "%.1f%% of %.0f link lookups were answered from the cache (%.0f evictions)",
                            rate * 100, lookups, evictions),
                    "Each miss costs a Redis round trip. If links are evicted, raise stateful-route.cache.maximum-size; "
                            + "if active users' links expire, raise stateful-route.cache.ttl or set "
                            + "stateful-route.cache.expiry=after-access. Many new users also mean misses."));
        });
    }

    /**
     * 99th percentile of routing decisions of one kind (namespace, service, outcome) above
     * {@code maximumP99}: the timer's client-side percentile, else its histogram.
     */
    public static PerformanceRule routingLatency(Duration maximumP99, long minimumDecisions) {
        double threshold = maximumP99.toNanos() / 1e9;
        return rule(ROUTING_LATENCY, (context) -> {
            List<Finding> findings = new ArrayList<>();
            for (Timer timer : context.registry().find(StatefulRouteMeters.ROUTING).timers()) {
                String subject = subject(timer) + " " + timer.getId().getTag("outcome");
                double decisions = context.increase("routing.count " + subject, timer.count());
                if (decisions < minimumDecisions) {
                    continue;
                }
                double p99 = p99Seconds(timer.takeSnapshot());
                if (Double.isNaN(p99)) {
                    continue;
                }
                context.measure("routing.p99-seconds{" + subject + "}", p99);
                if (p99 > threshold) {
                    findings.add(new Finding(ROUTING_LATENCY, Severity.WARNING, subject, p99, threshold,
                            String.format(Locale.ROOT, "99%% of recent routing decisions (%s) took up to %.1f ms",
                                    subject, p99 * 1000),
                            "Decisions that go to Redis are slow: check Redis latency and load "
                                    + "(statefulroute.redis.operations) and the network to it; a higher link cache hit "
                                    + "rate avoids the round trip."));
                }
            }
            return findings;
        });
    }

    /** Share of failed Redis operations over the window above {@code maximum}. */
    public static PerformanceRule redisErrorRate(double maximum, long minimumOperations) {
        return rule(REDIS_ERROR_RATE, (context) -> {
            Collection<Timer> timers = context.registry().find(StatefulRouteMeters.REDIS).timers();
            if (timers.isEmpty()) {
                return List.of();
            }
            double operations = 0;
            double errors = 0;
            Map<String, Double> errorsByOperation = new TreeMap<>();
            for (Timer timer : timers) {
                String operation = timer.getId().getTag("operation");
                String outcome = timer.getId().getTag("outcome");
                double count = context.increase("redis " + operation + " " + outcome, timer.count());
                operations += count;
                if (StatefulRouteMeters.ERROR.equals(outcome)) {
                    errors += count;
                    if (count > 0) {
                        errorsByOperation.put(operation, count);
                    }
                }
            }
            context.measure("redis.operations", operations);
            context.measure("redis.errors", errors);
            if (operations < minimumOperations || operations == 0) {
                return List.of();
            }
            double rate = errors / operations;
            context.measure("redis.error-rate", rate);
            if (rate <= maximum) {
                return List.of();
            }
            return List.of(new Finding(REDIS_ERROR_RATE, (rate >= 0.5) ? Severity.CRITICAL : Severity.WARNING, "redis",
                    rate, maximum,
                    String.format(Locale.ROOT, "%.0f of %.0f recent Redis operations failed (%s)", errors, operations,
                            errorsByOperation),
                    "Check that Redis is up and reachable, its latency against stateful-route.command-timeout, "
                            + "and for rejected commands (ACLs, memory limits) in the application log."));
        });
    }

    /** Heartbeats of this pod that failed over the window, more than {@code maximum}. */
    public static PerformanceRule heartbeatFailures(long maximum) {
        return rule(HEARTBEAT_FAILURES, (context) -> {
            var counter = context.registry().find(StatefulRouteMeters.HEARTBEAT_FAILURES).counter();
            if (counter == null) {
                return List.of();
            }
            double failures = context.increase("heartbeat.failures", counter.count());
            context.measure("heartbeat.failures", failures);
            Gauge consecutive = context.registry().find(StatefulRouteMeters.HEARTBEAT_CONSECUTIVE_FAILURES).gauge();
            double failingNow = (consecutive != null) ? consecutive.value() : Double.NaN;
            context.measure("heartbeat.consecutive-failures", failingNow);
            if (failures <= maximum) {
                return List.of();
            }
            return List.of(new Finding(HEARTBEAT_FAILURES, (failingNow > 0) ? Severity.CRITICAL : Severity.WARNING,
                    "heartbeat", failures, maximum,
                    String.format(Locale.ROOT, "%.0f recent heartbeats of this pod did not reach Redis%s", failures,
                            (failingNow > 0) ? String.format(Locale.ROOT, ", the last %.0f in a row", failingNow) : ""),
                    "Gateways take this pod for dead once its state is older than stateful-route.state.pod-expiry: "
                            + "check this pod's connection to Redis and stateful-route.command-timeout."));
        });
    }

    /** Services of which no pod is alive and READY. */
    public static PerformanceRule noRoutablePod() {
        return rule(NO_ROUTABLE_POD, (context) -> {
            List<Finding> findings = new ArrayList<>();
            for (Gauge routable : context.registry().find(StatefulRouteMeters.SERVICE_PODS_ROUTABLE).gauges()) {
                String subject = subject(routable);
                double value = routable.value();
                if (Double.isNaN(value)) {
                    continue;
                }
                Gauge alive = context.registry()
                    .find(StatefulRouteMeters.SERVICE_PODS_ALIVE)
                    .tags(routable.getId().getTagsAsIterable())
                    .gauge();
                double aliveValue = (alive != null) ? alive.value() : Double.NaN;
                context.measure("service.pods.routable{" + subject + "}", value);
                context.measure("service.pods.alive{" + subject + "}", aliveValue);
                if (value < 1) {
                    findings.add(new Finding(NO_ROUTABLE_POD, Severity.CRITICAL, subject, value, 1,
                            String.format(Locale.ROOT, "No pod of %s takes new users (%.0f alive)", subject, aliveValue),
                            (aliveValue > 0) ? "Every alive pod is draining (DENY_NEW_CALL) or shut down: finish the "
                                    + "rollout, undrain a pod, or scale the service up."
                                    : "No pod of the service heartbeats: check that its pods run and reach Redis."));
                }
            }
            return findings;
        });
    }

    /** Services whose largest pod load score is more than {@code maximumRatio} times the mean over alive pods. */
    public static PerformanceRule loadImbalance(double maximumRatio, double minimumMeanLoad) {
        return rule(LOAD_IMBALANCE, (context) -> {
            Map<String, List<Gauge>> byService = new TreeMap<>();
            for (Gauge load : context.registry().find(StatefulRouteMeters.SERVICE_POD_LOAD).gauges()) {
                byService.computeIfAbsent(subject(load), (s) -> new ArrayList<>()).add(load);
            }
            List<Finding> findings = new ArrayList<>();
            byService.forEach((subject, gauges) -> {
                double sum = 0;
                double max = Double.NEGATIVE_INFINITY;
                String busiest = null;
                int pods = 0;
                for (Gauge gauge : gauges) {
                    double load = gauge.value();
                    if (Double.isNaN(load)) {
                        continue;
                    }
                    pods++;
                    sum += load;
                    if (load > max) {
                        max = load;
                        busiest = gauge.getId().getTag("pod");
                    }
                }
                if (pods < 2) {
                    return;
                }
                double mean = sum / pods;
                if (mean < minimumMeanLoad || mean <= 0) {
                    return;
                }
                double ratio = max / mean;
                context.measure("service.load.max-to-mean{" + subject + "}", ratio);
                if (ratio > maximumRatio) {
                    findings.add(new Finding(LOAD_IMBALANCE, Severity.WARNING, subject, ratio, maximumRatio,
                            String.format(Locale.ROOT, "Pod %s of %s carries %.2f times the mean load (%.1f vs %.1f over %d pods)",
                                    busiest, subject, ratio, max, mean, pods),
                            "New users should go to the least loaded pods: use stateful-route.selection-strategy="
                                    + "load-aware, check that pods publish their load (setLoadState), and move users "
                                    + "off the busy pod (handOffAll) if persistent links pin them there."));
                }
            });
            return findings;
        });
    }

    /** Services whose pod states were last read from Redis longer ago than {@code maximumAge}. */
    public static PerformanceRule stalePodStates(Duration maximumAge) {
        double threshold = maximumAge.toNanos() / 1e9;
        return rule(STALE_POD_STATES, (context) -> {
            List<Finding> findings = new ArrayList<>();
            for (Gauge age : context.registry().find(StatefulRouteMeters.SERVICE_STATE_AGE).gauges()) {
                String subject = subject(age);
                double seconds = age.value();
                context.measure("service.state.age-seconds{" + subject + "}", seconds);
                if (seconds > threshold) {
                    findings.add(new Finding(STALE_POD_STATES, Severity.WARNING, subject, seconds, threshold,
                            String.format(Locale.ROOT, "Pod states of %s were last read from Redis %.1f s ago", subject,
                                    seconds),
                            "Routing decisions use old pod states: the state refresh fails or does not run. Check "
                                    + "Redis (statefulroute.state.refresh with outcome=error) and, with "
                                    + "stateful-route.scheduling.enabled=false, that the application refreshes."));
                }
            }
            return findings;
        });
    }

    /** Every built-in rule with its defaults. */
    public static List<PerformanceRule> defaults() {
        return List.of(linkCacheHitRate(0.8, 100), routingLatency(Duration.ofMillis(50), 20), redisErrorRate(0.01, 20),
                heartbeatFailures(0), noRoutablePod(), loadImbalance(1.5, 1), stalePodStates(Duration.ofSeconds(10)));
    }

    private static String subject(Meter meter) {
        return meter.getId().getTag("namespace") + "/" + meter.getId().getTag("service");
    }

    private static double p99Seconds(HistogramSnapshot snapshot) {
        for (ValueAtPercentile value : snapshot.percentileValues()) {
            if (value.percentile() == 0.99) {
                return value.value(TimeUnit.SECONDS);
            }
        }
        // no client-side percentile (replaced by configuration): the smallest bucket holding 99%
        CountAtBucket[] buckets = snapshot.histogramCounts();
        double needed = 0.99 * snapshot.count();
        for (CountAtBucket bucket : buckets) {
            if (bucket.count() >= needed && needed > 0) {
                return bucket.bucket(TimeUnit.SECONDS);
            }
        }
        return Double.NaN;
    }

    private static PerformanceRule rule(String id, java.util.function.Function<AnalysisContext, List<Finding>> evaluate) {
        return new PerformanceRule() {

            @Override
            public String id() {
                return id;
            }

            @Override
            public List<Finding> evaluate(AnalysisContext context) {
                return evaluate.apply(context);
            }

            @Override
            public String toString() {
                return id;
            }

        };
    }

}
