package io.statefulroute.core.server;

/** Why a pod found out it lost users. */
public enum LossReason {

    /** The pod's lease lapsed and, meanwhile, the users were linked elsewhere (or their links ended). */
    LEASE_LAPSED,

    /** A link change notice (or an authoritative check) showed another writer moved or removed the users. */
    LINK_CHANGED
}
