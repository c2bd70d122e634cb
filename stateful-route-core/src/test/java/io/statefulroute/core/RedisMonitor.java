package io.statefulroute.core;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import io.lettuce.core.api.sync.RedisCommands;

/**
 * Counts the commands clients send to a Redis server, through {@code MONITOR}: each round
 * trip of a client is one line; commands run inside a Lua script are marked {@code [0 lua]}
 * and are not round trips. {@code INFO commandstats} cannot tell the two apart.
 */
public final class RedisMonitor implements AutoCloseable {

    private final Socket socket;

    private final BufferedReader in;

    private final RedisCommands<String, String> admin;

    public RedisMonitor(String host, int port, RedisCommands<String, String> admin) {
        this.admin = admin;
        try {
            this.socket = new Socket(host, port);
            this.socket.setSoTimeout(5_000);
            OutputStream out = this.socket.getOutputStream();
            out.write("MONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            this.in = new BufferedReader(new InputStreamReader(this.socket.getInputStream(), StandardCharsets.UTF_8));
            String ok = this.in.readLine();
            if (!"+OK".equals(ok)) {
                throw new IllegalStateException("MONITOR answered " + ok);
            }
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * The client commands seen since the last call (script-internal commands excluded),
     * e.g. {@code "evalsha"}; reads up to a marker it sends itself, so nothing is missed.
     */
    public List<String> clientCommands() {
        return clientCommandLines().stream().map((line) -> line.substring(1, line.indexOf('"', 1)).toLowerCase())
            .toList();
    }

    /**
     * The client commands seen since the last call with their arguments, each as MONITOR
     * prints it from the command on: {@code "evalsha" "<sha>" "1" "<key>" ...}.
     */
    public List<String> clientCommandLines() {
        String marker = "monitor-marker-" + UUID.randomUUID();
        this.admin.echo(marker);
        List<String> commands = new ArrayList<>();
        try {
            for (String line = this.in.readLine(); line != null; line = this.in.readLine()) {
                if (line.contains(marker)) {
                    return commands;
                }
                int close = line.indexOf("] \"");
                if (close > 0 && !line.substring(0, close).endsWith("lua")) {
                    commands.add(line.substring(close + 2));
                }
            }
            throw new IllegalStateException("MONITOR stream ended before the marker");
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    @Override
    public void close() throws IOException {
        this.socket.close();
    }
}
