package io.statefulroute.analyzer;

/** How urgent a {@link Finding} is. */
public enum Severity {

    /** Worth knowing; nothing is wrong yet. */
    INFO,

    /** Performance suffers, or will soon. */
    WARNING,

    /** Users are, or are about to be, routed badly or not at all. */
    CRITICAL

}
