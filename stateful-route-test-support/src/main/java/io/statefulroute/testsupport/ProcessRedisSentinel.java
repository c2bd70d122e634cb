package io.statefulroute.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A master, a replica and three Sentinels as {@link ProcessRedisServer}s; the Sentinels monitor
 * the master as {@value #MASTER_NAME} with a quorum of 2.
 */
final class ProcessRedisSentinel implements RedisSentinel {

    static final String MASTER_NAME = "mymaster";
    private static final int SENTINELS = 3;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** Redis 7 syncs replicas diskless by default, after a 5 s delay; no delay keeps startup and failover fast. */
    private static final List<String> NO_SYNC_DELAY = List.of("--repl-diskless-sync-delay", "0");

    private final String kind;
    private final List<ProcessRedisServer> sentinels;
    private ProcessRedisServer master;
    private ProcessRedisServer replica;
    private boolean closed;

    private ProcessRedisSentinel(String kind, ProcessRedisServer master, ProcessRedisServer replica,
            List<ProcessRedisServer> sentinels) {
        this.kind = kind;
        this.master = master;
        this.replica = replica;
        this.sentinels = sentinels;
    }

    static ProcessRedisSentinel launch(Backends.Binary binary) {
        List<ProcessRedisServer> started = new ArrayList<>();
        try {
            ProcessRedisServer master = ProcessRedisServer.launch(binary, NO_SYNC_DELAY);
            started.add(master);
            ProcessRedisServer replica = ProcessRedisServer.launch(binary, Stream.concat(NO_SYNC_DELAY.stream(),
                    Stream.of("--replicaof", ProcessRedisServer.HOST, String.valueOf(master.port()))).toList());
            started.add(replica);
            awaitAll(List.of(replica), node -> "up".equals(info(node, "master_link_status")),
                    "master_link_status:up on the replica");
            String config = "sentinel monitor " + MASTER_NAME + " " + ProcessRedisServer.HOST + " " + master.port() + " 2\n"
                    // a stopped master is failed over after 1 s rather than 30 s
                    + "sentinel down-after-milliseconds " + MASTER_NAME + " 1000\n"
                    + "sentinel failover-timeout " + MASTER_NAME + " 10000\n";
            List<ProcessRedisServer> sentinels = new ArrayList<>();
            for (int i = 0; i < SENTINELS; i++) {
                ProcessRedisServer sentinel = launchSentinel(binary, config);
                sentinels.add(sentinel);
                started.add(sentinel);
            }
            ProcessRedisSentinel setup = new ProcessRedisSentinel(binary.kind(), master, replica, List.copyOf(sentinels));
            awaitAll(sentinels, setup::knowsEverything,
                    "every Sentinel to know the master, its replica and " + (SENTINELS - 1) + " other Sentinels");
            return setup;
        } catch (RuntimeException e) {
            started.forEach(ProcessRedisServer::close);
            throw e;
        }
    }

    private static ProcessRedisServer launchSentinel(Backends.Binary binary, String config) {
        try {
            return ProcessRedisServer.launchSentinel(binary, config);
        } catch (IllegalStateException e) {
            throw new IllegalStateException("Cannot run a Redis Sentinel with " + binary.path() + " (" + binary.kind()
                    + "): Sentinel tests need a redis-server that supports --sentinel (Debian/Ubuntu: apt-get install "
                    + "redis-server; macOS: brew install redis). " + e.getMessage(), e);
        }
    }

    @Override
    public String masterName() {
        return MASTER_NAME;
    }

    @Override
    public synchronized RedisServer master() {
        return master;
    }

    @Override
    public synchronized RedisServer replica() {
        return replica;
    }

    @Override
    public List<RedisServer> sentinels() {
        return List.copyOf(sentinels);
    }

    @Override
    public String sentinelNodesProperty() {
        return sentinels.stream().map(s -> s.host() + ":" + s.port()).collect(Collectors.joining(","));
    }

    @Override
    public String kind() {
        return kind;
    }

    @Override
    public synchronized RedisServer failOver() {
        long masterOffset = Long.parseLong(info(master, "master_repl_offset"));
        awaitAll(List.of(replica), node -> Long.parseLong(info(node, "slave_repl_offset")) >= masterOffset,
                "replica " + replica + " to reach replication offset " + masterOffset + " of its master");
        return failOver(PrimaryFault.PLANNED);
    }

    @Override
    public synchronized RedisServer failOver(PrimaryFault fault) {
        ProcessRedisServer oldMaster = master;
        ProcessRedisServer newMaster = replica;
        switch (fault) {
            case PLANNED -> call(sentinels.get(0), "SENTINEL", "FAILOVER", MASTER_NAME);
            case KILLED -> oldMaster.kill();
            case FROZEN -> oldMaster.freeze();
        }
        String newAddress = newMaster.host() + ":" + newMaster.port();
        awaitAll(sentinels, sentinel -> newAddress.equals(masterAddress(sentinel)),
                "every Sentinel to name " + newAddress + " as master");
        awaitAll(List.of(newMaster), node -> "master".equals(info(node, "role")), newMaster + " to report role:master");
        switch (fault) {
            case KILLED -> oldMaster.start();
            case FROZEN -> oldMaster.thaw();
            default -> {
            }
        }
        awaitAll(List.of(oldMaster), node -> "slave".equals(info(node, "role"))
                        && String.valueOf(newMaster.port()).equals(info(node, "master_port"))
                        && "up".equals(info(node, "master_link_status")),
                "former master " + oldMaster + " to replicate " + newAddress);
        master = newMaster;
        replica = oldMaster;
        return newMaster;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            sentinels.forEach(ProcessRedisServer::close);
            replica.close();
            master.close();
        }
    }

    @Override
    public String toString() {
        return "Redis Sentinel (" + kind + ") master " + master.port() + ", sentinels " + sentinelNodesProperty();
    }

    private boolean knowsEverything(ProcessRedisServer sentinel) {
        Map<String, String> state = fields(call(sentinel, "SENTINEL", "MASTER", MASTER_NAME));
        return String.valueOf(master.port()).equals(state.get("port")) && "1".equals(state.get("num-slaves"))
                && String.valueOf(SENTINELS - 1).equals(state.get("num-other-sentinels"))
                && "master".equals(state.get("flags"));
    }

    private static String masterAddress(ProcessRedisServer sentinel) {
        List<?> address = (List<?>) call(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME);
        return address.get(0) + ":" + address.get(1);
    }

    /** A reply of alternating names and values as a map. */
    private static Map<String, String> fields(Object reply) {
        List<?> items = (List<?>) reply;
        Map<String, String> fields = new HashMap<>();
        for (int i = 0; i + 1 < items.size(); i += 2) {
            fields.put(String.valueOf(items.get(i)), String.valueOf(items.get(i + 1)));
        }
        return fields;
    }

    private static String info(ProcessRedisServer node, String field) {
        return Resp.infoField(String.valueOf(call(node, "INFO", "replication")), field);
    }

    private static void awaitAll(List<ProcessRedisServer> nodes, Predicate<ProcessRedisServer> condition, String what) {
        Poll.until(TIMEOUT, () -> nodes.stream().allMatch(condition), () -> "Redis Sentinel setup did not reach: " + what
                + "\n" + nodes.stream().map(node -> "--- " + node + " log tail:\n" + node.logTail())
                        .collect(Collectors.joining("\n")));
    }

    private static Object call(ProcessRedisServer node, String... command) {
        try {
            return Resp.call(node.host(), node.port(), command);
        } catch (IOException e) {
            throw new UncheckedIOException(node + ": " + String.join(" ", command) + " failed", e);
        }
    }
}
