package io.statefulroute.testsupport;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import javax.net.SocketFactory;

/**
 * Minimal RESP2 client over a plain socket, used for admin commands (PING, INFO, CLUSTER ...).
 * Independent of Lettuce so that readiness checks have exact, short timeouts and no thread pools.
 */
final class Resp {

    private static final int TIMEOUT_MILLIS = 2_000;

    private Resp() {
    }

    /** Thrown when the server answers with a RESP error reply. */
    static final class ErrorReply extends RuntimeException {
        ErrorReply(String message) {
            super(message);
        }
    }

    /**
     * Sends one command and returns the reply: {@code String} for simple/bulk strings, {@code Long}
     * for integers, {@code List<Object>} for arrays, {@code null} for nil.
     *
     * @throws ErrorReply  if the server replies with an error
     * @throws IOException if the connection fails
     */
    static Object call(String host, int port, String... command) throws IOException {
        return call(SocketFactory.getDefault(), host, port, command);
    }

    /** Like {@link #call(String, int, String...)} over sockets of the given factory (e.g. TLS). */
    static Object call(SocketFactory sockets, String host, int port, String... command) throws IOException {
        try (Socket socket = sockets.createSocket()) {
            socket.connect(new InetSocketAddress(host, port), TIMEOUT_MILLIS);
            socket.setSoTimeout(TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            out.write(encode(command));
            out.flush();
            return read(new BufferedInputStream(socket.getInputStream()));
        }
    }

    /** Like {@link #call} but the reply must be a string (e.g. INFO, CLUSTER NODES). */
    static String callString(String host, int port, String... command) throws IOException {
        return String.valueOf(call(host, port, command));
    }

    /** True if the server answers PING with PONG (false while loading, unreachable, ...). */
    static boolean ping(String host, int port) {
        return ping(SocketFactory.getDefault(), host, port);
    }

    /** Like {@link #ping(String, int)} over sockets of the given factory (e.g. TLS). */
    static boolean ping(SocketFactory sockets, String host, int port) {
        try {
            return "PONG".equals(call(sockets, host, port, "PING"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Returns the value of {@code field} in an INFO-style text, or {@code null}. */
    static String infoField(String info, String field) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1).trim();
            }
        }
        return null;
    }

    private static byte[] encode(String... command) {
        StringBuilder sb = new StringBuilder().append('*').append(command.length).append("\r\n");
        for (String arg : command) {
            byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
            sb.append('$').append(bytes.length).append("\r\n").append(arg).append("\r\n");
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static Object read(InputStream in) throws IOException {
        int type = in.read();
        if (type < 0) {
            throw new EOFException("Connection closed by server");
        }
        String line = readLine(in);
        switch (type) {
            case '+':
                return line;
            case '-':
                throw new ErrorReply(line);
            case ':':
                return Long.parseLong(line);
            case '$': {
                int length = Integer.parseInt(line);
                if (length < 0) {
                    return null;
                }
                byte[] data = in.readNBytes(length + 2);
                if (data.length < length + 2) {
                    throw new EOFException("Truncated bulk reply");
                }
                return new String(data, 0, length, StandardCharsets.UTF_8);
            }
            case '*': {
                int count = Integer.parseInt(line);
                if (count < 0) {
                    return null;
                }
                List<Object> items = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    items.add(read(in));
                }
                return items;
            }
            default:
                throw new IOException("Unexpected RESP type '" + (char) type + "'");
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != '\r') {
            if (b < 0) {
                throw new EOFException("Connection closed by server");
            }
            buf.write(b);
        }
        in.read(); // '\n'
        return buf.toString(StandardCharsets.UTF_8);
    }
}
