package io.tapline.tools;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A read-only NBD view of an iSCSI LUN for the snoop's resync: {@code qemu-nbd --read-only} opens
 * {@code iscsi://HOST:PORT/IQN/LUN} through libiscsi (Debian's qemu-block-extra) and serves it on
 * 127.0.0.1. A second, read-only initiator session beside the host's: it never writes.
 *
 * <p>The port comes from below the kernel's ephemeral range (32768-60999 by default): a port taken
 * with {@code bind(0)} lies inside it, and any outgoing connection of this process (a shipper's
 * link, the bridge's own iSCSI session) could take it as its local end before qemu-nbd binds it.
 * A port another listener took meanwhile makes qemu-nbd exit at once; the next attempt takes another.
 *
 * @param process the running qemu-nbd
 * @param port    where it listens on 127.0.0.1
 */
record IscsiBridge(Process process, int port) {
    private static final int FIRST_PORT = 20000;
    private static final int LAST_PORT = 32767;
    private static final int ATTEMPTS = 5;

    /** The bridge as an {@code nbd://} address. */
    String nbdUri() {
        return "nbd://127.0.0.1:" + port + "/";
    }

    /**
     * Starts the bridge on a free port of 127.0.0.1; returns once it accepts connections. Its pid is
     * written to {@code pidFile}: a snoop killed with kill -9 cannot stop its bridge (qemu-nbd
     * {@code --persistent} outlives it, holding an iSCSI session to the target), so the next start
     * stops the one that file names first, if it is still that bridge.
     */
    static IscsiBridge start(String iscsiUri, java.nio.file.Path pidFile) throws IOException, InterruptedException {
        stopLeftover(iscsiUri, pidFile);
        IOException last = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int port = unboundPort();
            try {
                IscsiBridge bridge = new IscsiBridge(start(iscsiUri, port), port);
                io.tapline.log.DurableFiles.replace(pidFile, (bridge.process().pid() + "\n")
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                return bridge;
            } catch (PortTakenException e) {
                last = e;
            }
        }
        throw new IOException("qemu-nbd for " + iscsiUri + ": no free port in " + ATTEMPTS + " attempts", last);
    }

    /** Stops a qemu-nbd an earlier snoop left running for the same LUN (its pid in {@code pidFile}). */
    private static void stopLeftover(String iscsiUri, java.nio.file.Path pidFile) throws IOException {
        if (!java.nio.file.Files.exists(pidFile)) {
            return;
        }
        long pid;
        try {
            pid = Long.parseLong(java.nio.file.Files.readString(pidFile).strip());
        } catch (NumberFormatException e) {
            java.nio.file.Files.deleteIfExists(pidFile);
            return;
        }
        ProcessHandle.of(pid).ifPresent(h -> {
            String line = h.info().commandLine().orElse("");
            if (line.contains("qemu-nbd") && line.contains(iscsiUri)) { // a reused pid is left alone
                org.slf4j.LoggerFactory.getLogger(IscsiBridge.class).warn("stopping the qemu-nbd bridge an earlier"
                        + " snoop left running (pid {}, {}): it held an iSCSI session to the target", pid, iscsiUri);
                h.destroy();
            }
        });
        java.nio.file.Files.deleteIfExists(pidFile);
    }

    private static Process start(String iscsiUri, int port) throws IOException, InterruptedException {
        List<String> cmd = List.of("qemu-nbd", "--read-only", "--persistent", "--shared=4", "--format=raw",
                "--bind=127.0.0.1", "--port=" + port, iscsiUri);
        // Its messages go to a file that is unlinked once it listens: read only if it fails to start.
        java.nio.file.Path log = java.nio.file.Files.createTempFile("tapline-qemu-nbd-", ".log");
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            java.nio.file.Files.deleteIfExists(log);
            throw new IOException("qemu-nbd (qemu-utils, qemu-block-extra) is needed for an iscsi:// source: "
                    + e.getMessage(), e);
        }
        try {
            return awaitListening(p, iscsiUri, port, log);
        } finally {
            java.nio.file.Files.deleteIfExists(log);
        }
    }

    private static Process awaitListening(Process p, String iscsiUri, int port, java.nio.file.Path log)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return p;
            } catch (IOException e) {
                if (!p.isAlive()) {
                    String out = java.nio.file.Files.readString(log);
                    if (out.contains("Address already in use")) {
                        throw new PortTakenException(port);
                    }
                    throw new IOException("qemu-nbd for " + iscsiUri + " exited with " + p.exitValue()
                            + " (is the target reachable and the LUN right?): " + out.strip().replace('\n', ' '));
                }
                if (System.nanoTime() > deadline) {
                    p.destroy();
                    throw new IOException("qemu-nbd for " + iscsiUri + " not listening after 30 s");
                }
                Thread.sleep(50); // another process starting: there is nothing to wait on
            }
        }
    }

    /** A port of 127.0.0.1 below the ephemeral range that nobody listens on now. */
    private static int unboundPort() throws IOException {
        for (int i = 0; i < 100; i++) {
            int port = ThreadLocalRandom.current().nextInt(FIRST_PORT, LAST_PORT + 1);
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("127.0.0.1", port), 1);
                return port;
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IOException("no free port in 127.0.0.1:" + FIRST_PORT + ".." + LAST_PORT);
    }

    /** qemu-nbd could not bind its port: another listener took it after it was chosen. */
    private static final class PortTakenException extends IOException {
        private static final long serialVersionUID = 1L;

        PortTakenException(int port) {
            super("127.0.0.1:" + port + " already in use");
        }
    }
}
