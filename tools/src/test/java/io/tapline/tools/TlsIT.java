package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.tapline.journey.JourneyDecoder;
import io.tapline.journey.JourneyEncoder;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocol;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS with mutual authentication and roles on the journey link and the admin channel, with
 * certificates from a real {@code openssl} CA: a wedge ships over TLS and the replica matches; a
 * capture of the link shows none of the host's bytes (a capture of the host's clear-text NBD in
 * the same run does); an auditor's certificate cannot roll back, a certificate from another CA
 * and a client without TLS are refused, and the replica is unchanged by all three; an
 * administrator's rollback is audited under its certificate's name, the auditor's attempt as a
 * refusal under its own. Also: a non-loopback listen
 * address without TLS is refused at start, and a silent connection is closed at the deadline.
 */
class TlsIT {
    private static final Duration CLI = Duration.ofMinutes(2);
    private static final long SIZE = 64L << 20;

    @TempDir
    Path tmp;

    @Test
    void shipsOverTlsAndOnlyTheRightRolesGetIn() throws Exception {
        TestCertificates ca = TestCertificates.authority(tmp.resolve("pki"), "tapline-test-ca");
        String[] replayerTls = ca.issue("replayer1", "replayer");
        String[] wedgeTls = ca.issue("wedge1", "source");
        String[] adminTls = ca.issue("alice", "administrator");
        String[] auditorTls = ca.issue("bob", "auditor");
        String[] typoTls = ca.issue("eve", "administrators"); // an OU of no role
        String[] rogueTls = TestCertificates.authority(tmp.resolve("rogue"), "rogue-ca").issue("mallory", "administrator");

        try (ReplicationRig rig = new ReplicationRig(tmp, SIZE)) {
            rig.startReplayer(replayerTls);
            Path linkCapture = tmp.resolve("link.pcap");
            Path nbdCapture = tmp.resolve("nbd.pcap");
            Process linkDump = tcpdump(rig.linkAddress.getPort(), linkCapture);
            Process nbdDump = tcpdump(rig.nbdAddress.getPort(), nbdCapture);
            byte[] secret;
            try {
                rig.startWedge(wedgeTls);
                Path file = HostWrites.randomFile(tmp.resolve("host.bin"), 1, 0x7153);
                secret = Arrays.copyOfRange(Files.readAllBytes(file), 4096, 4096 + 48);
                Peers.ok(CLI, "nbdcopy", file.toString(), rig.uri());
                rig.awaitSynced(Duration.ofSeconds(60));
                rig.assertReplicaMatchesPrimary();
                // tcpdump may still be draining its ring on a busy machine: let it write what it saw.
                Poll.until(Duration.ofSeconds(30), () -> "the link capture holds the shipped megabyte",
                        Poll.of(() -> Files.size(linkCapture) > 1 << 20));
                Poll.until(Duration.ofSeconds(30), () -> "the NBD capture holds the host's write",
                        Poll.of(() -> ByteSearch.contains(Files.readAllBytes(nbdCapture), secret)));
            } finally {
                stop(linkDump);
                stop(nbdDump);
            }
            assertTrue(ByteSearch.contains(Files.readAllBytes(nbdCapture), secret),
                    "control: the host's clear-text NBD capture holds the written bytes");
            assertTrue(Files.size(linkCapture) > 1 << 20, "the link capture saw the shipped megabyte: "
                    + Files.size(linkCapture) + " bytes; tcpdump said: " + Files.readString(Path.of(linkCapture + ".log")));
            assertFalse(ByteSearch.contains(Files.readAllBytes(linkCapture), secret), "the TLS link capture shows no payload");

            String remote = ReplicationRig.hostPort(rig.linkAddress);
            String replicaBefore = Peers.md5(rig.replica());
            Peers.Result auditor = TaplineProcess.run(CLI, with(auditorTls, "rollback", "--remote", remote, "--volume",
                    ReplicationRig.EXPORT, "--to-seq", "1"));
            assertNotEquals(0, auditor.exitCode(), auditor.output());
            assertTrue(auditor.output().contains("role: auditor (expected: administrator)"), auditor.output());
            Peers.Result typo = TaplineProcess.run(CLI, with(typoTls, "rollback", "--remote", remote, "--volume",
                    ReplicationRig.EXPORT, "--to-seq", "1"));
            assertNotEquals(0, typo.exitCode(), typo.output());
            assertTrue(typo.output().contains("role: none (its OU \"administrators\" names no role"), "the OU presented"
                    + " is shown (probe X D6): " + typo.output());
            Peers.Result rogue = TaplineProcess.run(CLI, with(rogueTls, "rollback", "--remote", remote, "--volume",
                    ReplicationRig.EXPORT, "--to-seq", "1"));
            assertNotEquals(0, rogue.exitCode(), rogue.output());
            assertTrue(rogue.output().contains("tls handshake with 127.0.0.1"), rogue.output());
            Peers.Result plain = TaplineProcess.run(CLI, "rollback", "--remote", remote, "--volume",
                    ReplicationRig.EXPORT, "--to-seq", "1", "--timeout", "20");
            assertNotEquals(0, plain.exitCode(), plain.output());
            assertEquals(replicaBefore, Peers.md5(rig.replica()), "no refused client changed the replica");
            // The status page and metrics need a certificate too (HTTPS, any role may read).
            javax.net.ssl.SSLContext auditorContext = io.tapline.journey.tls.TlsConfig.load(Path.of(auditorTls[1]),
                    Path.of(auditorTls[3]), Path.of(auditorTls[5])).jdkContext();
            Poll.until(Duration.ofSeconds(10), () -> "three refusals counted", Poll.of(() -> metricOverTls(
                    rig.replayMetrics, "tapline_replay_refused_sessions_total", auditorContext) >= 3));
            // A handshake the network cut (the client's flight sent, the connection closed before it ended) is
            // said as such and not counted as a refused peer (probe AA D2: a stalled path raised the refusal count).
            int cutPort = cutTlsHandshake(rig.linkAddress, auditorContext);
            String cutConn = "conn=/127.0.0.1:" + cutPort;
            Poll.until(Duration.ofSeconds(20), () -> "the replayer logged the cut handshake of " + cutConn,
                    Poll.of(() -> rig.replayer().logText().contains("tls handshake did not complete " + cutConn)));
            assertFalse(rig.replayer().logText().contains("peer refused " + cutConn), rig.replayer().logText());
            String page = https(rig.replayMetrics, "/status.json", auditorContext);
            assertTrue(page.contains("\"volume\" : \"" + ReplicationRig.EXPORT + "\""), page);
            assertThrowsIo(() -> ReplicationRig.metric(rig.replayMetrics, "tapline_build_info"));
            javax.net.ssl.SSLContext noCertificate = javax.net.ssl.SSLContext.getInstance("TLSv1.3");
            noCertificate.init(null, io.tapline.journey.tls.TlsConfig.load(Path.of(auditorTls[1]),
                    Path.of(auditorTls[3]), Path.of(auditorTls[5])).trustManagers(), null);
            assertThrowsIo(() -> https(rig.replayMetrics, "/status.json", noCertificate));

            // An administrator's command: audited under the certificate's name, not the user's claim.
            rig.wedge().close();
            Peers.Result admin = TaplineProcess.run(CLI, with(adminTls, "rollback", "--remote", remote, "--volume",
                    ReplicationRig.EXPORT, "--to-seq", "1"));
            admin.orFail("administrator rollback");
            String audit = TaplineProcess.run(CLI, "audit", "list", "--data", tmp.resolve("remote").toString(),
                    "--volume", ReplicationRig.EXPORT, "--kind", "rollback", "--json").orFail("audit list").output();
            assertTrue(audit.contains("alice (administrator certificate)"), audit);
            String refused = TaplineProcess.run(CLI, "audit", "list", "--data", tmp.resolve("remote").toString(),
                    "--volume", ReplicationRig.EXPORT, "--kind", "refused", "--json").orFail("audit list").output();
            assertTrue(refused.contains("bob (auditor certificate)") && refused.contains("role: auditor"), refused);
        }
    }

    @Test
    void aTlsWedgeAtAPlainReplayerSaysSoInOneLine() throws Exception {
        TestCertificates ca = TestCertificates.authority(tmp.resolve("pki"), "tapline-test-ca");
        String[] wedgeTls = ca.issue("wedge1", "source");
        try (ReplicationRig rig = new ReplicationRig(tmp, SIZE)) {
            rig.startReplayer(); // plain
            rig.startWedge(wedgeTls);
            // It showed Netty's NotSslRecordException with a hex dump of the replayer's answer (probe Q D3).
            String[] out = {""};
            Poll.until(Duration.ofSeconds(30), () -> "the link's reason: " + out[0], Poll.of(() -> (out[0] =
                    TaplineProcess.run(CLI, "status", "--buffer", rig.buffer().toString()).output())
                    .contains("the peer does not speak TLS (its answer is no TLS record)")));
            assertFalse(out[0].contains("NotSslRecordException"), out[0]);
        }
    }

    @Test
    void aNonLoopbackListenWithoutTlsIsRefusedAtStart() throws Exception {
        int port = Peers.freePort();
        Peers.Result r = TaplineProcess.run(CLI, "replay", "--listen", "0.0.0.0:" + port, "--data",
                tmp.resolve("data").toString());
        assertEquals(1, r.exitCode(), r.output());
        assertTrue(r.output().contains("is not a loopback address (expected: --tls-cert/--tls-key/--tls-ca"),
                r.output());
    }

    @Test
    void silentConnectionsAreClosedAtTheDeadline() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(tmp, SIZE)) {
            rig.startReplayer("--handshake-timeout", "PT1S");
            // Says nothing at all: closed after about a second.
            try (Socket s = new Socket()) {
                s.connect(rig.linkAddress, 5000);
                s.setSoTimeout(15_000);
                long start = System.nanoTime();
                assertEquals(-1, s.getInputStream().read(), "closed by the replayer");
                assertTrue(System.nanoTime() - start < 10_000_000_000L, "closed near the deadline");
            }
            // Says HELLO, gets WELCOME, then goes silent: closed after about three seconds.
            try (Socket s = new Socket()) {
                s.connect(rig.linkAddress, 5000);
                s.setSoTimeout(20_000);
                s.getOutputStream().write(encode(new JourneyMessage.Hello(JourneyProtocol.VERSION, "silent-source",
                        ReplicationRig.EXPORT, SIZE, 4096, "")));
                InputStream in = s.getInputStream();
                List<Object> answers = new ArrayList<>();
                EmbeddedChannel codec = new EmbeddedChannel(new JourneyDecoder(), new JourneyEncoder());
                byte[] buf = new byte[8192];
                int n;
                try {
                    while ((n = in.read(buf)) >= 0) {
                        codec.writeInbound(io.netty.buffer.Unpooled.copiedBuffer(buf, 0, n));
                        Object m;
                        while ((m = codec.readInbound()) != null) {
                            answers.add(m);
                        }
                    }
                } catch (SocketTimeoutException e) {
                    throw new AssertionError("a silent source was not closed: " + answers);
                } finally {
                    codec.finishAndReleaseAll();
                }
                assertTrue(answers.stream().anyMatch(m -> m instanceof JourneyMessage.Welcome), answers.toString());
            }
            assertTrue(rig.replayer().logText().contains("source silent"), rig.replayer().logText());
        }
    }

    private static String https(InetSocketAddress address, String path, javax.net.ssl.SSLContext context)
            throws Exception {
        var client = java.net.http.HttpClient.newBuilder().sslContext(context).build();
        return client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("https://"
                + ReplicationRig.hostPort(address) + path)).build(), java.net.http.HttpResponse.BodyHandlers.ofString())
                .body();
    }

    private static double metricOverTls(InetSocketAddress address, String sample, javax.net.ssl.SSLContext context)
            throws Exception {
        for (String line : https(address, "/metrics", context).lines().toList()) {
            if (line.startsWith(sample + " ") || line.startsWith(sample + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return Double.NaN;
    }

    interface IoCall {
        Object call() throws Exception;
    }

    /**
     * Sends a real TLS ClientHello to {@code address}, reads the start of the server's answer and closes
     * the connection mid-handshake, as a path that dies under a handshake does; the local port used.
     */
    private static int cutTlsHandshake(InetSocketAddress address, javax.net.ssl.SSLContext context) throws Exception {
        javax.net.ssl.SSLEngine engine = context.createSSLEngine(address.getHostString(), address.getPort());
        engine.setUseClientMode(true);
        java.nio.ByteBuffer hello = java.nio.ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(java.nio.ByteBuffer.allocate(0), hello);
        hello.flip();
        try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
            socket.getOutputStream().write(hello.array(), 0, hello.limit());
            socket.setSoTimeout(10_000);
            if (socket.getInputStream().read() < 0) {
                throw new AssertionError("the replayer closed before answering the ClientHello");
            }
            return socket.getLocalPort();
        }
    }

    /** The call fails at the connection (refused handshake, or plain HTTP to an HTTPS port). */
    private static void assertThrowsIo(IoCall call) {
        try {
            Object result = call.call();
            throw new AssertionError("expected a failed connection, got: " + result);
        } catch (java.io.IOException e) {
            // expected
        } catch (Exception e) {
            throw new AssertionError("expected an IOException", e);
        }
    }

    private static byte[] encode(JourneyMessage m) {
        EmbeddedChannel codec = new EmbeddedChannel(new JourneyEncoder());
        try {
            codec.writeOutbound(m);
            ByteBuf frame = codec.readOutbound();
            byte[] bytes = new byte[frame.readableBytes()];
            frame.readBytes(bytes);
            frame.release();
            return bytes;
        } finally {
            codec.finishAndReleaseAll();
        }
    }

    private static String[] with(String[] tls, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of(tls));
        return all.toArray(String[]::new);
    }

    private static Process tcpdump(int port, Path file) throws Exception {
        Path log = Path.of(file + ".log");
        Process p = new ProcessBuilder("tcpdump", "-i", "lo", "-s", "0", "-B", "131072", "-U", "-w", file.toString(),
                "tcp port " + port)
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Poll.until(Duration.ofSeconds(20), () -> "tcpdump listening", Poll.of(
                () -> Files.exists(log) && Files.readString(log).contains("listening on")));
        return p;
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }
}
