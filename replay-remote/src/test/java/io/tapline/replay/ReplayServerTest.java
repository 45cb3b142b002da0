package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.Compression;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplayServerTest {
    private static final long SIZE = 1 << 20;
    private static final Provenance PROV = new Provenance(Bus.WEDGE, "10.0.0.1:4000", "vol", 1, 0, 1);

    @TempDir
    Path data;
    private ReplayServer server;
    private final List<JourneyTestClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data));
    }

    @AfterEach
    void stop() {
        clients.forEach(JourneyTestClient::close);
        server.close();
    }

    private JourneyTestClient connect() throws InterruptedException {
        JourneyTestClient c = new JourneyTestClient(server.boundAddress());
        clients.add(c);
        return c;
    }

    private JourneyTestClient session(String volume, long expectedLastApplied) throws InterruptedException {
        JourneyTestClient c = connect();
        c.send(hello(volume, SIZE));
        assertEquals(new JourneyMessage.Welcome(expectedLastApplied), c.next());
        return c;
    }

    private static JourneyMessage.Hello hello(String volume, long size) {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", volume, size, 4096, "");
    }

    private static CaptureRecord write(String volume, long seq, long offset, int length, int seed) {
        byte[] payload = new byte[length];
        new Random(seed).nextBytes(payload);
        return CaptureRecord.seal(volume, seq, seq, RecordKind.WRITE, offset, length, 0, PROV, payload);
    }

    private static List<CaptureRecord> writes(String volume, long firstSeq, int count) {
        List<CaptureRecord> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long seq = firstSeq + i;
            out.add(write(volume, seq, (seq * 8192) % (SIZE - 8192), 4096 + (int) seq, (int) seq));
        }
        return out;
    }

    private static byte[] image(List<CaptureRecord> records) {
        byte[] img = new byte[(int) SIZE];
        for (CaptureRecord r : records) {
            switch (r.kind()) {
                case WRITE -> System.arraycopy(r.payload(), 0, img, (int) r.offsetBytes(), r.payload().length);
                case WRITE_ZEROES, DISCARD -> java.util.Arrays.fill(img, (int) r.offsetBytes(),
                        (int) (r.offsetBytes() + r.lengthBytes()), (byte) 0);
                default -> { }
            }
        }
        return img;
    }

    private byte[] replica(String volume) throws IOException {
        return Files.readAllBytes(data.resolve(volume).resolve("replica.img"));
    }

    private long durableLastApplied(String volume) throws IOException {
        return ReplayServer.readVolumeStatus(data).stream().filter(s -> s.volumeId().equals(volume)).findFirst()
                .orElseThrow().lastAppliedSequence();
    }

    @Test
    void secondReplayerOnTheSameDataDirectoryIsRefused() {
        IOException e = assertThrows(IOException.class,
                () -> ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data)));
        assertEquals("data: " + data + " is in use by another process (lock file " + data.resolve(".lock") + ")",
                e.getMessage());
    }

    @Test
    void anAddressInUseIsToldBeforeAnythingIsTakenOrWarmedUp(@TempDir Path other) throws Exception {
        InetSocketAddress taken = server.boundAddress();
        IOException e = assertThrows(IOException.class, () -> ReplayServer.start(ReplayConfig.of(taken, other)));
        assertTrue(e.getMessage().startsWith("bind " + taken + ": "), e.getMessage());
        assertFalse(Files.exists(other.resolve(".lock")), "the data directory was not taken");
        assertFalse(Files.exists(other.resolve(".warm-up")), "no warm-up left behind");
    }

    @Test
    void aWrongSeekDataValueStopsTheStart(@TempDir Path other) {
        String property = io.tapline.log.volume.VolumeFile.SEEK_DATA_PROPERTY;
        String before = System.getProperty(property);
        System.setProperty(property, "sometimes");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), other)).close());
            assertEquals("-Dtapline.volume.seekData=sometimes: expected auto, trust or ignore", e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(property);
            } else {
                System.setProperty(property, before);
            }
        }
    }

    @Test
    void appliesBatchAndAcksOnlyOnceStateIsDurable() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        List<CaptureRecord> records = writes("vol1", 1, 5);
        JourneyMessage.Batch batch = BatchCodec.pack(1, records);
        c.send(batch);
        assertEquals(new JourneyMessage.Ack(1, 5, batch.crc32c()), c.next());
        // When the ACK is out, the state on disk already says 5 and the replica holds the bytes.
        assertEquals(5, durableLastApplied("vol1"));
        assertArrayEquals(image(records), replica("vol1"));
        assertEquals(SIZE, Files.size(data.resolve("vol1/replica.img")));
        VolumeStatus status = server.volumeStatus("vol1").orElseThrow();
        assertEquals(5, status.lastAppliedSequence());
        assertTrue(status.sessionConnected());
        assertFalse(status.outOfSync());
        assertEquals(records.stream().mapToLong(CaptureRecord::lengthBytes).sum(), status.bytesApplied());
    }

    @Test
    void appliesCompressedBatch() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        List<CaptureRecord> records = new ArrayList<>();
        for (int i = 1; i <= 8; i++) {
            byte[] payload = new byte[4096];
            java.util.Arrays.fill(payload, (byte) i);
            records.add(CaptureRecord.seal("vol1", i, i, RecordKind.WRITE, i * 4096L, 4096, 0, PROV, payload));
        }
        JourneyMessage.Batch batch = BatchCodec.pack(1, records);
        assertEquals(Compression.LZ4, batch.compression());
        c.send(batch);
        assertEquals(new JourneyMessage.Ack(1, 8, batch.crc32c()), c.next());
        assertArrayEquals(image(records), replica("vol1"));
    }

    @Test
    void duplicateBatchIsSkippedAndAcked() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        List<CaptureRecord> first = writes("vol1", 1, 4);
        c.send(BatchCodec.pack(1, first));
        c.next(JourneyMessage.Ack.class);
        JourneyMessage.Batch again = BatchCodec.pack(2, first);
        c.send(again);
        assertEquals(new JourneyMessage.Ack(2, 4, again.crc32c()), c.next());
        List<CaptureRecord> overlap = writes("vol1", 3, 4); // 3..6: 3 and 4 skipped, 5 and 6 applied
        JourneyMessage.Batch b3 = BatchCodec.pack(3, overlap);
        c.send(b3);
        assertEquals(new JourneyMessage.Ack(3, 6, b3.crc32c()), c.next());
        assertArrayEquals(image(writes("vol1", 1, 6)), replica("vol1"));
        assertEquals(6, durableLastApplied("vol1"));
    }

    @Test
    void sequenceHoleIsAnErrorAndNothingLands() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        c.send(BatchCodec.pack(1, writes("vol1", 1, 2)));
        c.next(JourneyMessage.Ack.class);
        c.send(BatchCodec.pack(2, writes("vol1", 4, 2)));
        JourneyMessage.Error error = c.next(JourneyMessage.Error.class);
        assertTrue(error.message().contains("starts at 4 (expected: <= 3, last applied 2)"), error.message());
        assertTrue(c.awaitClosed());
        assertEquals(2, durableLastApplied("vol1"));
        assertArrayEquals(image(writes("vol1", 1, 2)), replica("vol1"));
    }

    @Test
    void recordWithFlippedCrcIsAnErrorAndNothingIsWritten() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        JourneyMessage.Batch good = BatchCodec.pack(1, writes("vol1", 1, 3));
        byte[] body = good.body().clone();
        body[body.length - 10] ^= 0x40; // inside the last record's payload
        JourneyMessage.Batch bad = new JourneyMessage.Batch(1, 1, 3, 3, Compression.NONE, body.length,
                BatchCodec.crc32c(body, 0, body.length), body);
        c.send(bad);
        JourneyMessage.Error error = c.next(JourneyMessage.Error.class);
        assertTrue(error.message().contains("record #2 (expected seq 3): crc32c"), error.message());
        assertTrue(c.awaitClosed());
        assertArrayEquals(new byte[(int) SIZE], replica("vol1"));
        assertEquals(0, durableLastApplied("vol1"));
    }

    @Test
    void batchWithWrongCrcIsAnError() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        JourneyMessage.Batch good = BatchCodec.pack(1, writes("vol1", 1, 1));
        c.send(new JourneyMessage.Batch(1, 1, 1, 1, good.compression(), good.uncompressedLength(),
                good.crc32c() ^ 1, good.body()));
        assertTrue(c.next(JourneyMessage.Error.class).message().startsWith("batch crc32c: "));
        assertTrue(c.awaitClosed());
        assertArrayEquals(new byte[(int) SIZE], replica("vol1"));
    }

    @Test
    void recordOfAnotherVolumeIsAnError() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        c.send(BatchCodec.pack(1, writes("vol2", 1, 1)));
        assertTrue(c.next(JourneyMessage.Error.class).message().startsWith("record volume: vol2 (expected: vol1)"));
        assertTrue(c.awaitClosed());
    }

    @Test
    void recordBeyondTheVolumeIsAnError() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        c.send(BatchCodec.pack(1, List.of(write("vol1", 1, SIZE - 10, 20, 1))));
        assertTrue(c.next(JourneyMessage.Error.class).message().startsWith("record range: offset "));
        assertTrue(c.awaitClosed());
    }

    @Test
    void zeroesDiscardsFlushesMarksAndGapsAreApplied() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        List<CaptureRecord> records = new ArrayList<>();
        records.add(write("vol1", 1, 0, 65536, 1));
        records.add(CaptureRecord.seal("vol1", 2, 2, RecordKind.WRITE_ZEROES, 4096, 8192, CaptureRecord.FLAG_NO_HOLE,
                PROV, null));
        records.add(CaptureRecord.seal("vol1", 3, 3, RecordKind.DISCARD, 32768, 16384, 0, PROV, null));
        records.add(CaptureRecord.seal("vol1", 4, 4, RecordKind.FLUSH, 0, 0, 0, PROV, null));
        records.add(CaptureRecord.seal("vol1", 5, 5, RecordKind.MARK, 0, 0, 0, Provenance.INTERNAL,
                "before-upgrade".getBytes()));
        records.add(write("vol1", 6, 100, 50, 6).withSequence(6));
        c.send(BatchCodec.pack(1, records));
        assertEquals(6, c.next(JourneyMessage.Ack.class).lastAppliedSequence());
        assertArrayEquals(image(records), replica("vol1"));
        assertFalse(server.volumeStatus("vol1").orElseThrow().outOfSync());

        c.send(BatchCodec.pack(2, List.of(CaptureRecord.seal("vol1", 7, 7, RecordKind.GAP, 0, SIZE, 0,
                Provenance.INTERNAL, "pcap drop".getBytes()), write("vol1", 8, 0, 10, 8))));
        assertEquals(8, c.next(JourneyMessage.Ack.class).lastAppliedSequence());
        assertTrue(server.volumeStatus("vol1").orElseThrow().outOfSync());
        VolumeStatus durable = ReplayServer.readVolumeStatus(data).get(0);
        assertTrue(durable.outOfSync(), "out of sync is persisted");
        assertEquals(8, durable.lastAppliedSequence());
    }

    @Test
    void aSmallerSourceIsRefused() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        c.close();
        JourneyTestClient d = connect();
        d.send(hello("vol1", SIZE / 2));
        JourneyMessage.Refused refused = d.next(JourneyMessage.Refused.class);
        assertTrue(refused.reason().startsWith("volume size mismatch: volumeSizeBytes: 524288 (expected: 1048576"),
                refused.reason());
        assertTrue(refused.reason().contains("never shrinks by itself"), refused.reason());
        assertTrue(d.awaitClosed());
    }

    /** A source that grew, while the replayer holds the volume open: it is closed, grown and opened again. */
    @Test
    void aLargerSourceGrowsTheOpenReplica() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        c.close();
        JourneyTestClient d = connect();
        d.send(hello("vol1", SIZE * 2));
        assertEquals(0, d.next(JourneyMessage.Welcome.class).lastAppliedSequence());
        assertEquals(SIZE * 2, Files.size(data.resolve("vol1").resolve("replica.img")));
        assertEquals(SIZE * 2, ReplayServer.volumeSizeBytes(data, "vol1"));
        d.close();
    }

    @Test
    void existingImageOfAnotherSizeIsRefused() throws Exception {
        Files.createDirectories(data.resolve("old"));
        Files.write(data.resolve("old/replica.img"), new byte[4096]);
        JourneyTestClient c = connect();
        c.send(hello("old", SIZE));
        assertTrue(c.next(JourneyMessage.Refused.class).reason().startsWith("volume size mismatch: "));
        assertEquals(4096, Files.size(data.resolve("old/replica.img")));
    }

    @Test
    void anotherSourceForAnExistingVolumeIsRefused() throws Exception {
        session("vol1", 0).close();
        JourneyTestClient c = connect();
        c.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-b", "vol1", SIZE, 4096, ""));
        assertTrue(c.next(JourneyMessage.Refused.class).reason().startsWith("source mismatch: sourceId: src-b"));
    }

    @Test
    void aSilentSessionGivesTheVolumeToANewSessionOfTheSameSource() throws Exception {
        System.setProperty(ReplaySession.TAKEOVER_SILENCE_PROPERTY, "300");
        try {
            JourneyTestClient gone = session("vol1", 0); // its path vanished: no byte, no FIN
            java.util.concurrent.locks.LockSupport.parkNanos(600_000_000L);
            session("vol1", 0); // the same source again: welcomed, not "volume busy"
            assertTrue(gone.awaitClosed(), "the silent session is closed");
        } finally {
            System.clearProperty(ReplaySession.TAKEOVER_SILENCE_PROPERTY);
        }
    }

    @Test
    void aSessionThatKeepsTalkingOrAnotherSourceNeverTakesTheVolume() throws Exception {
        System.setProperty(ReplaySession.TAKEOVER_SILENCE_PROPERTY, "300");
        try {
            JourneyTestClient talking = session("vol1", 0);
            for (int i = 0; i < 6; i++) {
                talking.send(io.tapline.journey.control.ControlCodec.encode(
                        new io.tapline.journey.control.SourceHead(0, System.currentTimeMillis())));
                java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L);
            }
            JourneyTestClient c = connect();
            c.send(hello("vol1", SIZE));
            assertTrue(c.next(JourneyMessage.Refused.class).reason().startsWith("volume busy"), "a live twin");

            java.util.concurrent.locks.LockSupport.parkNanos(600_000_000L); // now silent, but:
            JourneyTestClient other = connect();
            other.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-b", "vol1", SIZE, 4096,
                    ""));
            assertTrue(other.next(JourneyMessage.Refused.class).reason().startsWith("volume busy"),
                    "another source never takes a session over");
        } finally {
            System.clearProperty(ReplaySession.TAKEOVER_SILENCE_PROPERTY);
        }
    }

    @Test
    void secondLiveSessionForAVolumeIsRefusedAsBusy() throws Exception {
        session("vol1", 0);
        JourneyTestClient c = connect();
        c.send(hello("vol1", SIZE));
        assertTrue(c.next(JourneyMessage.Refused.class).reason().startsWith("volume busy"));
        assertTrue(c.awaitClosed());
    }

    @Test
    void sessionAfterADeadOneIsWelcomed() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        c.send(BatchCodec.pack(1, writes("vol1", 1, 3)));
        c.next(JourneyMessage.Ack.class);
        c.close();
        JourneyTestClient d = connect();
        d.send(hello("vol1", SIZE));
        JourneyMessage m = d.next();
        // The old channel may not be seen as inactive yet: busy is then the honest answer; retry.
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (m instanceof JourneyMessage.Refused && System.nanoTime() < deadline) {
            d = connect();
            d.send(hello("vol1", SIZE));
            m = d.next();
        }
        assertEquals(new JourneyMessage.Welcome(3), m);
    }

    @Test
    void badVolumeIdsAreRefused() throws Exception {
        for (String id : List.of("../etc", "a/b", "..", ".", "x\u0001y", "", "v".repeat(256))) {
            JourneyTestClient c = connect();
            c.send(hello(id, SIZE));
            JourneyMessage.Refused r = c.next(JourneyMessage.Refused.class);
            assertTrue(r.reason().startsWith("bad volume id: volumeId: "), id + ": " + r.reason());
        }
        try (var files = Files.list(data)) {
            assertEquals(0, files.filter(f -> !f.getFileName().toString().equals(ReplayServer.LOCK_FILE)).count(),
                    "nothing was created but the lock file");
        }
    }

    @Test
    void olderVersionIsRefusedNamingTheSupportedRange() throws Exception {
        JourneyTestClient c = connect();
        c.send(new JourneyMessage.Hello(1, "src-a", "vol1", SIZE, 4096, ""));
        assertEquals("protocol version unsupported: protocolVersion: 1 (expected: 2..4)",
                c.next(JourneyMessage.Refused.class).reason());
        assertTrue(c.awaitClosed());
    }

    @Test
    void withAnAdministratorsCredentialTheSourcesOneNoLongerRollsBack() throws Exception {
        server.close();
        server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data)
                .withCredential("source-secret").withSecurity(new LinkSecurity(null, false,
                        java.time.Duration.ofSeconds(10), "admin-secret")));
        JourneyMessage.AdminDone bySource = AdminClient.request(server.boundAddress(), new JourneyMessage.AdminRequest(
                "source-secret", "mallory", "vol1", JourneyMessage.AdminRequest.RESUME, 0, 0, ""), 10_000, (d, t) -> { });
        assertTrue(!bySource.ok() && bySource.message().startsWith("bad credential for volume vol1 (expected: the"
                + " administrators' credential)"), bySource.message());
        JourneyMessage.AdminDone byAdmin = AdminClient.request(server.boundAddress(), new JourneyMessage.AdminRequest(
                "admin-secret", "alice", "vol1", JourneyMessage.AdminRequest.RESUME, 0, 0, ""), 10_000, (d, t) -> { });
        assertTrue(!byAdmin.message().startsWith("bad credential"), byAdmin.message());
        JourneyTestClient c = connect();
        c.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", SIZE, 4096,
                "source-secret"));
        c.next(JourneyMessage.Welcome.class);
    }

    @Test
    void aPlainClientAtATlsPortIsNamedWithoutItsBytes() {
        // Netty's message holds a hex dump of what the peer sent: a plain journey client's HELLO, credential and all.
        String why = ReplaySession.tlsFailure(new io.netty.handler.codec.DecoderException(
                new io.netty.handler.ssl.NotSslRecordException("not an SSL/TLS record: 0000003401000400027376")));
        assertEquals("not a TLS record (a plain-TCP client? this replayer expects TLS: start the peer with"
                + " --tls-cert/--tls-key/--tls-ca)", why);
    }

    @Test
    void aTlsHandshakeTheNetworkEndedIsNotARefusal() {
        // What Netty and the JDK report for a handshake the network ended (probe AA D2: each was counted as a refused peer).
        assertTrue(ReplaySession.tlsHandshakeCutByNetwork(
                new io.netty.handler.ssl.SslHandshakeTimeoutException("handshake timed out after 10000ms")));
        assertTrue(ReplaySession.tlsHandshakeCutByNetwork(new javax.net.ssl.SSLHandshakeException(
                "Connection closed while SSL/TLS handshake was in progress")));
        assertTrue(ReplaySession.tlsHandshakeCutByNetwork(new io.netty.handler.codec.DecoderException(
                new javax.net.ssl.SSLHandshakeException("(handshake_failure) Insufficient buffer remaining for AEAD"
                        + " cipher fragment (2). Needs to be more than tag size (16)"))));
        assertTrue(ReplaySession.tlsHandshakeCutByNetwork(new java.nio.channels.ClosedChannelException()));
        // Refusals stay refusals: a certificate from another authority, a missing client certificate, an alert.
        javax.net.ssl.SSLHandshakeException pkix = new javax.net.ssl.SSLHandshakeException("PKIX path building failed");
        pkix.initCause(new java.security.cert.CertificateException("unable to find valid certification path"));
        assertFalse(ReplaySession.tlsHandshakeCutByNetwork(new io.netty.handler.codec.DecoderException(pkix)));
        assertFalse(ReplaySession.tlsHandshakeCutByNetwork(
                new javax.net.ssl.SSLHandshakeException("Empty client certificate chain")));
        assertFalse(ReplaySession.tlsHandshakeCutByNetwork(
                new javax.net.ssl.SSLHandshakeException("Received fatal alert: bad_certificate")));
        assertFalse(ReplaySession.tlsHandshakeCutByNetwork(new io.netty.handler.ssl.NotSslRecordException("x")));
    }

    /** A promoted volume (generation 2 and up) seeds a new replica: its first HELLO must create the volume (probe J D5). */
    @Test
    void aNewVolumeAcceptsASourceOfALaterGenerationAndRemembersIt() throws Exception {
        JourneyTestClient c = connect();
        c.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "gnew", SIZE, 4096, "", 5));
        assertEquals(new JourneyMessage.Welcome(0), c.next());
        assertEquals(5, VolumeRole.read(data.resolve("gnew")).generation());
    }

    /** Peers' names reach the log: a line break in one wrote forged lines (probe J D11); absurd generations wrapped (D9). */
    @Test
    void namesThatWouldBreakALogLineAndAbsurdGenerationsAreRefused() throws Exception {
        server.close();
        server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data).withCredential("s3cret"));
        JourneyTestClient forged = connect();
        forged.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a",
                "inj\n03:40:00.000 WARN  Forged - line", SIZE, 4096, "wrong"));
        String why = forged.next(JourneyMessage.Refused.class).reason();
        assertEquals("bad volume id: volumeId: contains control character 0xa at index 3 (expected: none)", why);
        JourneyTestClient source = connect();
        source.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "y\nERROR forged", "vol1",
                SIZE, 4096, "s3cret"));
        assertEquals("bad source id: sourceId: contains control character 0xa at index 1 (expected: none)",
                source.next(JourneyMessage.Refused.class).reason());
        JourneyTestClient huge = connect();
        huge.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", SIZE, 4096,
                "s3cret", Long.MAX_VALUE));
        assertTrue(huge.next(JourneyMessage.Error.class).message().startsWith("generation: " + Long.MAX_VALUE
                + " (expected: 0..1099511627776)"));
        assertTrue(!java.nio.file.Files.exists(data.resolve("vol1")), "nothing created");
        assertEquals(java.util.List.of(), java.util.Arrays.stream(new java.io.File(data.toString()).list())
                .filter(n -> n.startsWith("inj")).toList());
    }

    @Test
    void aVerifyReportOutsideTheVolumeOrPastTheReplicaIsNotRecorded() {
        var outside = new io.tapline.journey.control.VerifyReport("x@y", 6, 100, new long[] {-4096}, new long[] {4096},
                0, 1, 0);
        assertTrue(ReplicaVolume.verifyReportProblem(outside, SIZE, 6).startsWith("range -4096+4096"));
        var pastEnd = new io.tapline.journey.control.VerifyReport("x@y", 6, 100, new long[] {1L << 40},
                new long[] {Long.MAX_VALUE}, 0, 1, 0);
        assertTrue(ReplicaVolume.verifyReportProblem(pastEnd, SIZE, 6).startsWith("range "));
        var future = new io.tapline.journey.control.VerifyReport("x@y", 999_999, 100, new long[0], new long[0], 0, 1, 0);
        assertEquals("atSequence: 999999 (expected: 0..6, applied here)", ReplicaVolume.verifyReportProblem(future, SIZE, 6));
        var fine = new io.tapline.journey.control.VerifyReport("x@y", 6, SIZE, new long[] {0}, new long[] {4096}, 0, 1, 0);
        assertEquals(null, ReplicaVolume.verifyReportProblem(fine, SIZE, 6));
        assertThrows(IllegalArgumentException.class, () -> new LinkSecurity(null, false, java.time.Duration.ofMillis(1)));
    }

    /** A source that never takes its replies cannot fill the replayer's direct memory with them (probe J D6). */
    @Test
    void aSourceThatDoesNotReadItsRepliesIsNoLongerRead() throws Exception {
        JourneyTestClient c = connect();
        c.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "noread", 16L << 20, 4096,
                ""));
        c.next(JourneyMessage.Welcome.class);
        c.stopReading();
        long before = io.netty.util.internal.PlatformDependent.usedDirectMemory();
        JourneyMessage request = io.tapline.journey.control.ControlCodec.encode(
                new io.tapline.journey.control.ChunkHashRequest(1, 0, 4096, 0, 4096, 0)); // a 64 KiB reply each
        for (int i = 0; i < 1500; i++) { // 94 MiB of replies, were they all made
            c.sendWithoutWaiting(request);
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        long grown = 0;
        while (System.nanoTime() < deadline) {
            grown = Math.max(grown, io.netty.util.internal.PlatformDependent.usedDirectMemory() - before);
            Thread.onSpinWait();
        }
        assertTrue(grown < (32L << 20), "direct memory grew by " + grown + " bytes");
        assertTrue(c.awaitClosed(), "a peer that piles up requests is closed");
    }

    @Test
    void wrongCredentialIsRefused() throws Exception {
        server.close();
        server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data)
                .withCredential("s3cret"));
        JourneyTestClient c = connect();
        c.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", SIZE, 4096, "guess"));
        assertTrue(c.next(JourneyMessage.Refused.class).reason().startsWith("bad credential"));
        assertEquals(1, server.refusedSessions(), "a bad credential is a refused peer, counted");
        JourneyTestClient d = connect();
        d.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", SIZE, 4096, "s3cret"));
        assertEquals(new JourneyMessage.Welcome(0), d.next());
        // Once the volume exists, guesses at its credential are audited too, a source's and an administrator's.
        JourneyTestClient e = connect();
        e.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "mallory", "vol1", SIZE, 4096, "s3"));
        assertEquals("bad credential for volume vol1", e.next(JourneyMessage.Refused.class).reason());
        JourneyMessage.AdminDone admin = AdminClient.request(server.boundAddress(), new JourneyMessage.AdminRequest(
                "guess", "eve", "vol1", JourneyMessage.AdminRequest.ROLLBACK, 1, 0, ""), 10_000, (x, t) -> { });
        assertEquals("bad credential for volume vol1", admin.message());
        // A peer refused at line rate does not fill the audit log: one entry per 10 s, the rest counted (probe N N4).
        for (int i = 0; i < 50; i++) {
            JourneyTestClient guess = connect();
            guess.send(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "mallory", "vol1", SIZE,
                    4096, "guess" + i));
            guess.next(JourneyMessage.Refused.class);
            guess.close();
        }
        assertEquals(53, server.refusedSessions());
        long deadline = System.nanoTime() + 10_000_000_000L;
        List<String> refusals = List.of();
        while (refusals.isEmpty() && System.nanoTime() < deadline) {
            refusals = io.tapline.log.audit.AuditLog.read(data.resolve("vol1")).stream()
                    .filter(x -> x.type() == io.tapline.log.audit.AuditType.REFUSED)
                    .map(x -> x.who() + ": " + x.detail()).toList();
        }
        assertEquals(1, refusals.size(), refusals.toString());
        assertTrue(refusals.get(0).startsWith("mallory (claimed, from 127.0.0.1): bad credential for volume vol1"),
                refusals.toString());
    }

    @Test
    void batchBeforeHelloIsAnError() throws Exception {
        JourneyTestClient c = connect();
        c.send(BatchCodec.pack(1, writes("vol1", 1, 1)));
        assertTrue(c.next(JourneyMessage.Error.class).message().contains("(expected: HELLO first)"));
        assertTrue(c.awaitClosed());
    }

    @Test
    void twoVolumesAreIsolated() throws Exception {
        JourneyTestClient a = session("vol-a", 0);
        JourneyTestClient b = session("vol-b", 0);
        List<CaptureRecord> ra = writes("vol-a", 1, 5);
        List<CaptureRecord> rb = writes("vol-b", 1, 3).stream()
                .map(r -> CaptureRecord.seal("vol-b", r.sequence(), 0, RecordKind.WRITE, r.offsetBytes() + 1,
                        r.lengthBytes(), 0, PROV, r.payload()))
                .toList();
        a.send(BatchCodec.pack(1, ra));
        b.send(BatchCodec.pack(1, rb));
        assertEquals(5, a.next(JourneyMessage.Ack.class).lastAppliedSequence());
        assertEquals(3, b.next(JourneyMessage.Ack.class).lastAppliedSequence());
        // A broken session on one volume does not disturb the other.
        a.send(BatchCodec.pack(2, writes("vol-a", 9, 1)));
        a.next(JourneyMessage.Error.class);
        b.send(BatchCodec.pack(2, writes("vol-b", 4, 1)));
        assertEquals(4, b.next(JourneyMessage.Ack.class).lastAppliedSequence());
        assertArrayEquals(image(ra), replica("vol-a"));
        List<CaptureRecord> allB = new ArrayList<>(rb);
        allB.addAll(writes("vol-b", 4, 1));
        assertArrayEquals(image(allB), replica("vol-b"));
        assertEquals(List.of("vol-a", "vol-b"), server.volumes().stream().map(VolumeStatus::volumeId).toList());
    }

    @Test
    void restartedReplayerWelcomesWithTheDurableSequence() throws Exception {
        JourneyTestClient c = session("vol1", 0);
        c.send(BatchCodec.pack(1, writes("vol1", 1, 7)));
        c.next(JourneyMessage.Ack.class);
        InetSocketAddress address = server.boundAddress();
        server.close();
        server = ReplayServer.start(ReplayConfig.of(address, data));
        session("vol1", 7);
    }
}
