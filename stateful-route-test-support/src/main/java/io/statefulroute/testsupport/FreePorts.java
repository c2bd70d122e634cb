package io.statefulroute.testsupport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Hands out loopback ports that are free right now, together with port + 10000 (the cluster bus
 * port). A port is never handed out twice in one JVM, so a stopped server keeps its port for a
 * restart. Ports come from 20000..45535, below the usual Linux ephemeral range start of 32768 for
 * the client port, and at most 55535 for the bus port.
 */
final class FreePorts {

    private static final int MIN = 20_000;
    private static final int MAX = 45_535;
    private static final int BUS_OFFSET = 10_000;
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private FreePorts() {
    }

    static int next() {
        for (int attempt = 0; attempt < 1_000; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(MIN, MAX + 1);
            if (isFree(port) && isFree(port + BUS_OFFSET) && HANDED_OUT.add(port)) {
                return port;
            }
        }
        throw new IllegalStateException("No free loopback port pair (port, port+10000) found in " + MIN + ".." + MAX);
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
