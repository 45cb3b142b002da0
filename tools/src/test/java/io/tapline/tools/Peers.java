package io.tapline.tools;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs real third-party peers (qemu-io, nbdcopy, mkfs, ...) with a time limit, and small file checks. */
final class Peers {
    private Peers() {
    }

    /** A finished command. */
    record Result(int exitCode, String output) {
        Result orFail(String what) {
            if (exitCode != 0) {
                throw new AssertionError(what + " exited " + exitCode + ":\n" + output);
            }
            return this;
        }
    }

    static Result run(Duration timeout, String... cmd) throws IOException, InterruptedException {
        return run(timeout, List.of(cmd));
    }

    /** Runs {@code cmd}, failing the test if it does not finish in time or is not installed. */
    static Result run(Duration timeout, List<String> cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile("peer", ".out");
        try {
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            } catch (IOException e) {
                throw new AssertionError("cannot run " + cmd.get(0) + " (is it installed? .ci/run installs it): " + e.getMessage());
            }
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                throw new AssertionError(String.join(" ", cmd) + " did not finish in " + timeout + ":\n"
                        + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Runs {@code cmd} and fails the test unless it exits 0. */
    static String ok(Duration timeout, String... cmd) throws IOException, InterruptedException {
        return run(timeout, cmd).orFail(String.join(" ", cmd)).output();
    }

    /** MD5 of the first {@code length} bytes of {@code file}. */
    static String md5Prefix(Path file, long length) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("MD5");
            try (var in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 20];
                long left = length;
                int n;
                while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
                    md.update(buf, 0, n);
                    left -= n;
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String md5(Path file) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("MD5");
            try (var in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 20];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A TCP port on 127.0.0.1 that was free a moment ago. */
    /** Waits until something accepts TCP connections on 127.0.0.1:{@code port}; fails after {@code timeout}. */
    static void awaitPort(int port, Duration timeout) throws InterruptedException {
        Poll.until(timeout, () -> "nothing listens on 127.0.0.1:" + port, () -> {
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 1000);
                return true;
            } catch (IOException e) {
                return false; // a peer process starting
            }
        });
    }


    /** Ports handed out below the kernel's ephemeral range (32768-60999 by default). */
    private static final int PORT_FLOOR = 20000;
    private static final int PORT_CEILING = 32767;
    private static final java.util.concurrent.atomic.AtomicInteger NEXT_PORT = new java.util.concurrent.atomic
            .AtomicInteger(PORT_FLOOR + (int) (ProcessHandle.current().pid() * 7919 % (PORT_CEILING - PORT_FLOOR)));

    /**
     * A port nothing listens on now, for a peer that binds it later. Taken below the ephemeral
     * range: a port there is never the local end of an outgoing connection, which a port the
     * kernel chose with bind(0) can become between this call and the peer's bind (CI saw a wedge
     * fail "Address already in use" that way).
     */
    static int freePort() throws IOException {
        for (int tries = 0; tries < PORT_CEILING - PORT_FLOOR; tries++) {
            int port = PORT_FLOOR + Math.floorMod(NEXT_PORT.getAndIncrement() - PORT_FLOOR, PORT_CEILING - PORT_FLOOR);
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1);
                return port;
            } catch (IOException taken) {
                // in use: the next one
            }
        }
        throw new IOException("no free port in " + PORT_FLOOR + "-" + PORT_CEILING);
    }
}
