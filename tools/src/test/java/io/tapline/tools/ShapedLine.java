package io.tapline.tools;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A slow WAN line for tests, in user space (this kernel has no netem): a TCP proxy on loopback
 * whose source-to-target direction is held to {@code bytesPerSecond} by a token bucket (the
 * reply direction, acknowledgements, is not limited). Counts the bytes it carried. Stops by
 * itself when closed.
 */
final class ShapedLine implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final long bytesPerSecond;
    private final AtomicLong carried = new AtomicLong();
    private final java.util.Set<Socket> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private volatile boolean cut;

    ShapedLine(InetSocketAddress target, long bytesPerSecond) throws IOException {
        this.target = target;
        this.bytesPerSecond = bytesPerSecond;
        this.server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "shaped-line-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", server.getLocalPort());
    }

    /**
     * Cuts the line (every connection on it is closed and new ones are closed at once, as a
     * partition would drop them) or restores it.
     */
    void cut(boolean down) throws IOException {
        cut = down;
        if (down) {
            for (Socket s : open) {
                s.close();
            }
        }
    }

    /** Bytes carried from sources to the target so far. */
    long carried() {
        return carried.get();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket in = server.accept();
                if (cut) {
                    in.close();
                    continue;
                }
                Socket out = new Socket();
                try {
                    out.connect(target, 5000);
                } catch (IOException e) {
                    in.close();
                    out.close();
                    continue;
                }
                in.setTcpNoDelay(true);
                out.setTcpNoDelay(true);
                open.add(in);
                open.add(out);
                pump(in, out, true);
                pump(out, in, false);
            } catch (IOException e) {
                return; // the server socket failed or was closed: the line is down for good
            }
        }
    }

    private void pump(Socket from, Socket to, boolean shaped) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[shaped ? 4096 : 65536];
            long nextFree = System.nanoTime(); // when the line is free again: a token bucket of 20 ms burst
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while (!closed && (n = in.read(buf)) > 0) {
                    if (shaped) {
                        long now = System.nanoTime();
                        nextFree = Math.max(nextFree, now - 20_000_000L) + n * 1_000_000_000L / bytesPerSecond;
                        long wait = nextFree - now;
                        if (wait > 0) {
                            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000)); // the line's pace
                        }
                        carried.addAndGet(n);
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // the other side closed: so does this direction
            } finally {
                open.remove(from);
                open.remove(to);
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }, shaped ? "shaped-line-up" : "shaped-line-down");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
    }
}
