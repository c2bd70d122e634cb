package io.statefulroute.reliability;

import java.util.Locale;

/**
 * Prints the figures a test measured, one per line as {@code [figure] test: name = value}, so a
 * build log can be searched for them ({@code grep '\[figure\]'}).
 */
final class Figures {

    private Figures() {
    }

    static void print(String test, String name, Object value) {
        System.out.println("[figure] " + test + ": " + name + " = " + value);
    }

    static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.1f ms", nanos / 1_000_000.0);
    }
}
