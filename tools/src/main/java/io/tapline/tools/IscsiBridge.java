package io.tapline.tools;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;

/**
 * A read-only NBD view of an iSCSI LUN for the snoop's resync: {@code qemu-nbd --read-only} opens
 * {@code iscsi://HOST:PORT/IQN/LUN} through libiscsi (Debian's qemu-block-extra) and serves it on
 * 127.0.0.1. A second, read-only initiator session beside the host's: it never writes.
 */
final class IscsiBridge {
    private IscsiBridge() {
    }

    /** Starts the bridge on 127.0.0.1:{@code port}; returns once it accepts connections. */
    static Process start(String iscsiUri, int port) throws IOException, InterruptedException {
        List<String> cmd = List.of("qemu-nbd", "--read-only", "--persistent", "--shared=4", "--format=raw",
                "--bind=127.0.0.1", "--port=" + port, iscsiUri);
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw new IOException("qemu-nbd (qemu-utils, qemu-block-extra) is needed for an iscsi:// source: "
                    + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return p;
            } catch (IOException e) {
                if (!p.isAlive()) {
                    throw new IOException("qemu-nbd for " + iscsiUri + " exited with " + p.exitValue()
                            + " (is the target reachable and the LUN right?)");
                }
                if (System.nanoTime() > deadline) {
                    p.destroy();
                    throw new IOException("qemu-nbd for " + iscsiUri + " not listening after 30 s");
                }
                Thread.sleep(50); // another process starting: there is nothing to wait on
            }
        }
    }
}
