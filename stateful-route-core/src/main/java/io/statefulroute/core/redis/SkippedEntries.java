package io.statefulroute.core.redis;

import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts what the executor read from Redis and skipped because it could not understand it: an
 * entry written by another version of the library (see {@link EntryFormat}) or by hand. A
 * skipped entry never makes the rest of its service unreadable. The first skip of each kind
 * and service is logged at WARN; later ones are only counted.
 */
public final class SkippedEntries {

    private static final Logger logger = LoggerFactory.getLogger(SkippedEntries.class);

    /** Most (kind, service) pairs remembered as already warned about; beyond, skips are only counted. */
    static final int MAX_WARNED = 1024;

    /** What was skipped. */
    public enum Kind {

        /** A pod entry whose routing state this version does not know (e.g. added by a newer version). */
        UNKNOWN_ROUTING_STATE,

        /** A pod entry that is not {@code <updatedMs>:<state>:<load>[:...]} or whose pod index is not 0..65535. */
        MALFORMED_POD_ENTRY,

        /** A link value that is not {@code <pod>[:...]}: read as no link, overwritten by the next link. */
        MALFORMED_LINK,

        /** A message on the link change channel that is neither a link change nor a probe: dropped. */
        MALFORMED_NOTICE
    }

    private final Map<Kind, LongAdder> counts = new EnumMap<>(Kind.class);

    private final Set<String> warned = ConcurrentHashMap.newKeySet();

    SkippedEntries() {
        for (Kind kind : Kind.values()) {
            this.counts.put(kind, new LongAdder());
        }
    }

    /** How many entries of this kind were skipped since start. */
    public long count(Kind kind) {
        return this.counts.get(kind).sum();
    }

    /** Skipped entries of every kind since start. */
    public Map<Kind, Long> counts() {
        Map<Kind, Long> all = new EnumMap<>(Kind.class);
        this.counts.forEach((kind, count) -> all.put(kind, count.sum()));
        return all;
    }

    /**
     * Counts one skipped entry.
     * @param where the service (or channel) it belongs to, for the log
     * @param entry what was read, cut short in the log
     */
    void skipped(Kind kind, String where, String entry) {
        this.counts.get(kind).increment();
        String key = kind + " " + where;
        if (this.warned.size() < MAX_WARNED && this.warned.add(key)) {
            logger.warn("Skipped {} in {}: '{}' (written by another version of stateful-route, or by hand?); "
                    + "further ones there are only counted", kind, where, abbreviate(entry));
        }
    }

    private static String abbreviate(String entry) {
        return (entry.length() <= 120) ? entry : entry.substring(0, 120) + "... (" + entry.length() + " chars)";
    }
}
