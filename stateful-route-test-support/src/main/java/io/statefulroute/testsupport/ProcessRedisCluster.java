package io.statefulroute.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import io.lettuce.core.cluster.SlotHash;

/**
 * A 3 master / 3 replica cluster of {@link ProcessRedisServer}s, formed with plain cluster
 * commands (no redis-cli): SET-CONFIG-EPOCH, MEET, ADDSLOTS, REPLICATE.
 */
final class ProcessRedisCluster implements RedisCluster {

    static final int SHARDS = 3;
    private static final int[][] SLOT_RANGES = {{0, 5460}, {5461, 10922}, {10923, 16383}};
    private static final List<String> CLUSTER_ARGS = List.of(
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "2000",
            // Redis 7 syncs replicas diskless by default, after a 5 s delay; no delay keeps startup fast.
            "--repl-diskless-sync-delay", "0");
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private final String kind;
    private final ProcessRedisServer[] masters;
    private final ProcessRedisServer[] replicas;
    /** Node ids, parallel to {@link #masters} and {@link #replicas}. */
    private final String[] masterIds;
    private final String[] replicaIds;
    private boolean closed;

    private ProcessRedisCluster(String kind, List<ProcessRedisServer> servers, List<String> ids) {
        this.kind = kind;
        this.masters = servers.subList(0, SHARDS).toArray(ProcessRedisServer[]::new);
        this.replicas = servers.subList(SHARDS, 2 * SHARDS).toArray(ProcessRedisServer[]::new);
        this.masterIds = ids.subList(0, SHARDS).toArray(String[]::new);
        this.replicaIds = ids.subList(SHARDS, 2 * SHARDS).toArray(String[]::new);
    }

    static ProcessRedisCluster launch(Backends.Binary binary) {
        List<ProcessRedisServer> servers = new ArrayList<>();
        try {
            for (int i = 0; i < 2 * SHARDS; i++) {
                servers.add(ProcessRedisServer.launch(binary, CLUSTER_ARGS));
            }
            List<String> ids = servers.stream().map(s -> call(s, "CLUSTER", "MYID").toString()).toList();
            for (int i = 0; i < SHARDS; i++) {
                // Distinct epochs up front, as redis-cli does, instead of relying on collision handling.
                call(servers.get(i), "CLUSTER", "SET-CONFIG-EPOCH", String.valueOf(i + 1));
            }
            for (ProcessRedisServer other : servers.subList(1, servers.size())) {
                call(servers.get(0), "CLUSTER", "MEET", ProcessRedisServer.HOST, String.valueOf(other.port()));
            }
            for (int i = 0; i < SHARDS; i++) {
                Stream<String> slots = IntStream.rangeClosed(SLOT_RANGES[i][0], SLOT_RANGES[i][1]).mapToObj(String::valueOf);
                call(servers.get(i), Stream.concat(Stream.of("CLUSTER", "ADDSLOTS"), slots).toArray(String[]::new));
            }
            awaitAll(servers, node -> nodeLines(node).filter(l -> !l.contains("handshake") && !l.contains("noaddr"))
                    .count() == 2 * SHARDS, "every node to know all " + 2 * SHARDS + " nodes");
            for (int i = 0; i < SHARDS; i++) {
                call(servers.get(SHARDS + i), "CLUSTER", "REPLICATE", ids.get(i));
            }
            ProcessRedisCluster cluster = new ProcessRedisCluster(binary.kind(), servers, ids);
            cluster.awaitFormed();
            return cluster;
        } catch (RuntimeException e) {
            servers.forEach(ProcessRedisServer::close);
            throw e;
        }
    }

    @Override
    public synchronized List<RedisServer> masters() {
        return List.of(masters);
    }

    @Override
    public synchronized List<RedisServer> replicas() {
        return List.of(replicas);
    }

    @Override
    public synchronized List<String> nodes() {
        return Stream.concat(Arrays.stream(masters), Arrays.stream(replicas))
                .map(s -> s.host() + ":" + s.port())
                .toList();
    }

    @Override
    public String nodesProperty() {
        return String.join(",", nodes());
    }

    @Override
    public String kind() {
        return kind;
    }

    @Override
    public synchronized RedisServer failOverMasterOf(String key) {
        int slot = SlotHash.getSlot(key);
        int shard = IntStream.range(0, SHARDS).filter(i -> slot <= SLOT_RANGES[i][1]).findFirst().orElseThrow();
        ProcessRedisServer oldMaster = masters[shard];
        ProcessRedisServer replica = replicas[shard];
        String replicaId = replicaIds[shard];
        if (!replica.isRunning()) {
            throw new IllegalStateException("Cannot fail over slot " + slot + ": its replica " + replica + " is not running");
        }
        if (oldMaster.isRunning()) {
            awaitReplicaCaughtUp(oldMaster, replica);
            oldMaster.stop();
        }
        // The master is gone, so a coordinated failover is impossible; TAKEOVER promotes at once
        // instead of waiting for node-timeout, failure detection and an election.
        call(replica, "CLUSTER", "FAILOVER", "TAKEOVER");
        List<ProcessRedisServer> running = Stream.concat(Arrays.stream(masters), Arrays.stream(replicas))
                .filter(ProcessRedisServer::isRunning).toList();
        awaitAll(running, node -> clusterOk(node) && nodeLines(node)
                        .anyMatch(l -> l.startsWith(replicaId + " ") && flags(l).contains("master")),
                "cluster_state:ok with " + replica + " as master of slot " + slot);
        masters[shard] = replica;
        replicas[shard] = oldMaster;
        replicaIds[shard] = masterIds[shard];
        masterIds[shard] = replicaId;
        return oldMaster;
    }

    @Override
    public synchronized RedisServer failOverMasterOf(String key, PrimaryFault fault) {
        int slot = SlotHash.getSlot(key);
        int shard = IntStream.range(0, SHARDS).filter(i -> slot <= SLOT_RANGES[i][1]).findFirst().orElseThrow();
        ProcessRedisServer oldMaster = masters[shard];
        ProcessRedisServer replica = replicas[shard];
        String replicaId = replicaIds[shard];
        String oldMasterId = masterIds[shard];
        switch (fault) {
            case PLANNED -> call(replica, "CLUSTER", "FAILOVER");
            case KILLED -> oldMaster.kill();
            case FROZEN -> oldMaster.freeze();
        }
        List<ProcessRedisServer> others = Stream.concat(Arrays.stream(masters), Arrays.stream(replicas))
                .filter(node -> node != oldMaster).toList();
        awaitAll(others, node -> clusterOk(node) && nodeLines(node)
                        .anyMatch(l -> l.startsWith(replicaId + " ") && flags(l).contains("master")),
                "cluster_state:ok with " + replica + " as master of slot " + slot);
        switch (fault) {
            case KILLED -> oldMaster.start();
            case FROZEN -> oldMaster.thaw();
            default -> {
            }
        }
        awaitAll(List.of(oldMaster), node -> nodeLines(node)
                        .anyMatch(l -> l.startsWith(oldMasterId + " ") && flags(l).contains("slave"))
                        && "up".equals(Resp.infoField(String.valueOf(call(node, "INFO", "replication")),
                                "master_link_status")),
                "former master " + oldMaster + " to replicate " + replica);
        masters[shard] = replica;
        replicas[shard] = oldMaster;
        replicaIds[shard] = oldMasterId;
        masterIds[shard] = replicaId;
        return replica;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Stream.concat(Arrays.stream(masters), Arrays.stream(replicas)).forEach(ProcessRedisServer::close);
        }
    }

    @Override
    public String toString() {
        return "Redis Cluster (" + kind + ") " + nodesProperty();
    }

    /** So that a failover loses no write made before it, which keeps tests deterministic. */
    private static void awaitReplicaCaughtUp(ProcessRedisServer master, ProcessRedisServer replica) {
        long masterOffset = Long.parseLong(Resp.infoField(
                String.valueOf(call(master, "INFO", "replication")), "master_repl_offset"));
        awaitAll(List.of(replica), node -> Long.parseLong(Resp.infoField(
                String.valueOf(call(node, "INFO", "replication")), "slave_repl_offset")) >= masterOffset,
                "replica " + replica + " to reach replication offset " + masterOffset + " of its master");
    }

    private void awaitFormed() {
        List<ProcessRedisServer> all = Stream.concat(Arrays.stream(masters), Arrays.stream(replicas)).toList();
        awaitAll(all, node -> clusterOk(node)
                        && nodeLines(node).filter(l -> flags(l).contains("master")).count() == SHARDS
                        && nodeLines(node).filter(l -> flags(l).contains("slave")).count() == SHARDS,
                "cluster_state:ok and " + SHARDS + " masters + " + SHARDS + " replicas seen by every node");
        awaitAll(Arrays.asList(replicas), node -> "up".equals(Resp.infoField(
                String.valueOf(call(node, "INFO", "replication")), "master_link_status")),
                "master_link_status:up on every replica");
    }

    private static boolean clusterOk(ProcessRedisServer node) {
        String info = String.valueOf(call(node, "CLUSTER", "INFO"));
        return "ok".equals(Resp.infoField(info, "cluster_state"))
                && "16384".equals(Resp.infoField(info, "cluster_slots_ok"));
    }

    private static Stream<String> nodeLines(ProcessRedisServer node) {
        return String.valueOf(call(node, "CLUSTER", "NODES")).lines().filter(l -> !l.isBlank());
    }

    private static List<String> flags(String clusterNodesLine) {
        return List.of(clusterNodesLine.split(" ")[2].split(","));
    }

    private static void awaitAll(List<ProcessRedisServer> nodes, Predicate<ProcessRedisServer> condition, String what) {
        Poll.until(TIMEOUT, () -> nodes.stream().allMatch(condition), () -> "Redis Cluster did not reach: " + what
                + "\n" + nodes.stream().map(ProcessRedisCluster::describe).collect(Collectors.joining("\n")));
    }

    private static String describe(ProcessRedisServer node) {
        try {
            return "--- " + node + " CLUSTER NODES:\n" + call(node, "CLUSTER", "NODES");
        } catch (RuntimeException e) {
            return "--- " + node + ": " + e.getMessage() + "\nLog tail:\n" + node.logTail();
        }
    }

    private static Object call(ProcessRedisServer node, String... command) {
        try {
            return Resp.call(node.host(), node.port(), command);
        } catch (IOException e) {
            throw new UncheckedIOException(node + ": " + command[0] + " " + command[1 % command.length] + " failed", e);
        }
    }
}
