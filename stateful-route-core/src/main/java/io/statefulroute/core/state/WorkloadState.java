package io.statefulroute.core.state;

/**
 * A service-wide state published by the service's pod 0, e.g. a summary of its workload.
 * Its content is the application's; stateful-route only stores and returns it.
 *
 * @param service the service
 * @param value what pod 0 published
 * @param updateTimeMillis when it was published, on Redis' clock (epoch millis)
 */
public record WorkloadState(String service, String value, long updateTimeMillis) {
}
