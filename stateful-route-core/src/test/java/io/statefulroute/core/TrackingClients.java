package io.statefulroute.core;

import java.util.List;

import io.lettuce.core.KillArgs;
import io.lettuce.core.api.sync.RedisCommands;

/** The connections of one Redis server that have client tracking on ({@code CLIENT LIST} flag {@code t}). */
public final class TrackingClients {

    private TrackingClients() {
    }

    public static long count(RedisCommands<String, String> admin) {
        return tracking(admin).size();
    }

    /** Kills them; how many there were. */
    public static int kill(RedisCommands<String, String> admin) {
        List<String> tracking = tracking(admin);
        tracking.forEach((client) -> admin.clientKill(KillArgs.Builder.id(Long.parseLong(field(client, "id")))));
        return tracking.size();
    }

    private static List<String> tracking(RedisCommands<String, String> admin) {
        return List.of(admin.clientList().split("\n")).stream()
            .filter((client) -> {
                String flags = field(client, "flags");
                return flags != null && flags.contains("t");
            })
            .toList();
    }

    private static String field(String client, String name) {
        for (String pair : client.trim().split(" ")) {
            if (pair.startsWith(name + "=")) {
                return pair.substring(name.length() + 1);
            }
        }
        return null;
    }
}
