package io.statefulroute.core;

/**
 * An argument was rejected before any Redis call: blank or oversized id, negative or too
 * large pod index, invalid TTL. The message names the argument. Nothing was written.
 */
public class InvalidRouteArgumentException extends StatefulRouteException {

    private final String argument;

    public InvalidRouteArgumentException(String argument, String problem) {
        super("Invalid " + argument + ": " + problem);
        this.argument = argument;
    }

    /** Name of the rejected argument, e.g. {@code uid} or {@code podIndex}. */
    public String getArgument() {
        return this.argument;
    }
}
