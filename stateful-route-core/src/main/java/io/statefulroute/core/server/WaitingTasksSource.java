package io.statefulroute.core.server;

import java.util.function.IntSupplier;

/**
 * How many tasks wait on this pod (e.g. an executor's queue size); weighted into the load
 * score by the cpu factor. With the Spring Boot starter, define one as a bean.
 */
@FunctionalInterface
public interface WaitingTasksSource extends IntSupplier {
}
