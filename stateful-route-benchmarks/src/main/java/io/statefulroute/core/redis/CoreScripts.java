package io.statefulroute.core.redis;

/**
 * The core's scripts exactly as it sends them, for benchmarks that send them raw: in the
 * core's package, so the core's assembly (which helpers go in front) is the only one.
 */
public final class CoreScripts {

    private CoreScripts() {
    }

    /** The source of {@code lua/<name>.lua} with the helpers it calls in front. */
    public static String source(String name) {
        return LuaScript.load(name).source();
    }
}
