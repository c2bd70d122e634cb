package io.statefulroute.core.link;

/** Key of the local link cache. */
record LinkKey(String namespace, String uid, String service) {
}
