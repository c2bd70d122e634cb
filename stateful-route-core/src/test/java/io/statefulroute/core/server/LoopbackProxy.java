package io.statefulroute.core.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on loopback that the test can block: while blocked, bytes in both directions
 * are held (not dropped), as on a partitioned link whose connections survive. Lets a test cut
 * one client off from Redis while every other client keeps using it ({@code CLIENT PAUSE}
 * would pause them all).
 */
final class LoopbackProxy implements AutoCloseable {

    private final ServerSocket listener;

    private final int upstreamPort;

    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    private final Object gate = new Object();

    private volatile boolean blocked;

    private volatile boolean closed;

    LoopbackProxy(int upstreamPort) throws IOException {
        this.upstreamPort = upstreamPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return this.listener.getLocalPort();
    }

    void block() {
        this.blocked = true;
    }

    void unblock() {
        synchronized (this.gate) {
            this.blocked = false;
            this.gate.notifyAll();
        }
    }

    private void accept() {
        while (!this.closed) {
            try {
                Socket client = this.listener.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), this.upstreamPort);
                this.sockets.add(client);
                this.sockets.add(upstream);
                pump(client, upstream);
                pump(upstream, client);
            }
            catch (IOException ex) {
                // closed, or the upstream refused: the client sees its connection fail
            }
        }
    }

    private void pump(Socket from, Socket to) throws IOException {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[16 * 1024];
            try {
                int read;
                while ((read = in.read(buffer)) >= 0) {
                    awaitUnblocked();
                    out.write(buffer, 0, read);
                    out.flush();
                }
            }
            catch (IOException | InterruptedException ex) {
                // a side closed: close both below
            }
            closeQuietly(from);
            closeQuietly(to);
        }, "proxy-pump");
        thread.setDaemon(true);
        thread.start();
    }

    private void awaitUnblocked() throws InterruptedException {
        synchronized (this.gate) {
            while (this.blocked && !this.closed) {
                this.gate.wait(100);
            }
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        }
        catch (IOException ex) {
            // already closed
        }
    }

    @Override
    public void close() {
        this.closed = true;
        unblock();
        closeQuietly(this.listener);
        this.sockets.forEach(LoopbackProxy::closeQuietly);
    }

    private static void closeQuietly(ServerSocket socket) {
        try {
            socket.close();
        }
        catch (IOException ex) {
            // already closed
        }
    }
}
