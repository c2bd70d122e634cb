package io.statefulroute.reliability;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Records the names of the commands a Redis server executes, through {@code MONITOR} on a plain
 * socket: client commands as {@code evalsha}, commands run by scripts as {@code lua:hset},
 * subcommands as {@code client|setinfo}. Redis does not show AUTH and HELLO to monitors.
 */
final class RedisMonitor implements AutoCloseable {

    private final Socket socket;

    private final Set<String> commands = new ConcurrentSkipListSet<>();

    private final Thread reader;

    private final CountDownLatch started = new CountDownLatch(1);

    RedisMonitor(String host, int port) throws IOException {
        this.socket = new Socket();
        this.socket.connect(new InetSocketAddress(host, port), 2000);
        OutputStream out = this.socket.getOutputStream();
        out.write("MONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(this.socket.getInputStream(), StandardCharsets.UTF_8));
        this.reader = new Thread(() -> read(in), "redis-monitor");
        this.reader.setDaemon(true);
        this.reader.start();
        try {
            if (!this.started.await(5, TimeUnit.SECONDS)) {
                throw new IOException("MONITOR was not acknowledged");
            }
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IOException(ex);
        }
    }

    private void read(BufferedReader in) {
        try {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.equals("+OK")) {
                    this.started.countDown();
                    continue;
                }
                record(line);
            }
        }
        catch (IOException ex) {
            // closed
        }
    }

    /** {@code +1700000000.123456 [0 127.0.0.1:5000] "evalsha" "..."} or {@code [0 lua] "HSET" ...}. */
    private void record(String line) {
        int close = line.indexOf(']');
        int quote = line.indexOf('"', close);
        if (close < 0 || quote < 0) {
            return;
        }
        String[] tokens = line.substring(quote).split("\" \"", 3);
        String name = tokens[0].replace("\"", "").toLowerCase(Locale.ROOT);
        if (name.equals("client") && tokens.length > 1) {
            name = name + "|" + tokens[1].replace("\"", "").toLowerCase(Locale.ROOT);
        }
        boolean fromScript = line.substring(0, close).endsWith("lua");
        this.commands.add(fromScript ? "lua:" + name : name);
    }

    /** Commands seen so far. */
    Set<String> commands() {
        return new TreeSet<>(this.commands);
    }

    @Override
    public void close() throws IOException {
        this.socket.close();
    }
}
