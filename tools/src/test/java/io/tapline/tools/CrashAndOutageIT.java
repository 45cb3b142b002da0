package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of either side in the middle of a write stream, and a replayer that stays down for a
 * while as the host keeps writing: every write the client saw acknowledged ends on the primary
 * and on the replica, and replication resumes by itself.
 */
class CrashAndOutageIT {
    private static final Duration PEER = Duration.ofMinutes(5);
    private static final int BLOCK = 64 << 10;
    private static final int BLOCKS = 2048; // 128 MiB of numbered blocks
    /** How long the replayer stays down while the host writes; override with -Dtapline.it.outageSeconds. */
    private static final int OUTAGE_SECONDS = Integer.getInteger("tapline.it.outageSeconds", 120);

    @TempDir
    Path dir;

    @Test
    void wedgeKilledMidStreamKeepsEveryAcknowledgedWrite() throws Exception {
        killWedgeMidStream(rig -> assertTrue(rig.wedge().logText().contains("the activity log names"),
                "the restart tracks the activity log's extents: " + rig.wedge().logText()));
    }

    /**
     * A write-once buffer killed in the same boot: the page cache kept its unforced records, so it
     * recovers them as the durable mode does (a power cut instead drops them and starts past its
     * sequence floor: WriteOnceBufferTest, CrashStateExplorerTest). Every chunk is tracked after the
     * unclean stop, so the replica must end equal to the primary through the resync.
     */
    @Test
    void writeOnceWedgeKilledMidStreamKeepsItsRecordsAndEndsEqual() throws Exception {
        killWedgeMidStream(rig -> {
            Peers.Result status = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer",
                    rig.buffer().toString(), "--json");
            assertTrue(status.output().contains("\"write-once\""), "status names the mode: " + status.output());
            assertEquals(1.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_write_once"), "metric");
            assertTrue(rig.wedge().logText().contains("write-once capture buffer was not closed cleanly in this boot"),
                    rig.wedge().logText());
        }, "--buffer-durability", "write-once");
    }

    /**
     * The activity log after a kill -9: 64 MiB written and flushed (qemu-io flushes as it exits),
     * then 8 MiB at 512 MiB that the host has not flushed when the wedge dies. With four hot
     * extents of 4 MiB, the flushed ones are safe and make room, so the restart tracks at most
     * 16 MiB and the resync compares that, not the volume; the replica still ends equal to the
     * primary, with the unflushed write on it.
     */
    @Test
    void wedgeKilledResyncsOnlyItsHotExtents() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 1L << 30)) {
            rig.startReplayer();
            rig.startWedge("--activity-extents", "4");
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x11 0 64M", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(120));
            killDuringAnUnflushedWrite(rig, rig.primary());
            rig.startWedge("--activity-extents", "4");
            assertTrue(rig.wedge().logText().contains("the activity log names"), rig.wedge().logText());
            rig.awaitSynced(Duration.ofSeconds(120));
            double compared = ReplicationRig.metric(rig.wedgeMetrics, "tapline_resync_compared_bytes_total");
            System.out.printf("activity log: after kill -9 the resync compared %.0f MiB of a 1 GiB volume holding 72 MiB%n",
                    compared / (1 << 20));
            assertTrue(compared > 0 && compared <= (16 << 20), "compared " + compared + " bytes (expected: the hot"
                    + " extents, at most 4 x 4 MiB)");
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-r", "-c", "read -P 0x22 512M 8M", rig.replica().toString());
            rig.assertReplicaMatchesPrimary();
            Peers.Result text = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString());
            assertTrue(text.output().contains("after a crash now a resync would compare")
                    && text.output().contains("MiB (the activity log's hot extents)"), text.output());
            Peers.Result json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(),
                    "--json");
            assertTrue(json.output().contains("\"crashCompareBytes\""), json.output());
        }
    }

    /**
     * A power cut of a write-once wedge, as the disk is left after the reboot: 64 MiB written and
     * flushed, then 8 MiB at 512 MiB that the host never flushed, shipped and applied on the
     * replica from the wedge's page cache, of which the primary kept only the second half (the
     * first 4 MiB read back as they were before, zeros). The buffer's segments are dropped (it
     * starts past its sequence floor with a GAP saying so), but the activity log (4 hot extents)
     * covers every record lost: the resync compares at most 16 MiB, not the whole volume, and the
     * replica ends equal to the primary, the write the primary lost undone on it too.
     */
    @Test
    void writeOnceWedgeAfterAPowerCutResyncsOnlyItsHotExtents() throws Exception {
        String[] args = {"--buffer-durability", "write-once", "--activity-extents", "4"};
        try (ReplicationRig rig = new ReplicationRig(dir, 1L << 30)) {
            rig.startReplayer();
            rig.startWedge(args);
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x11 0 64M", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(120));
            killDuringAnUnflushedWrite(rig, rig.replica());
            // The power cut: the primary lost part of the unflushed write, the buffer's records are not
            // trusted after the reboot (sequence.reserved names another boot: zero boot id, CRC resealed).
            try (FileChannel primary = FileChannel.open(rig.primary(), java.nio.file.StandardOpenOption.WRITE)) {
                primary.write(ByteBuffer.allocate(4 << 20), 512L << 20);
            }
            forgetBoot(rig.buffer().resolve(ReplicationRig.EXPORT).resolve("sequence.reserved"));
            rig.startWedge(args);
            String log = rig.wedge().logText();
            assertTrue(log.contains("before a reboot") && log.contains("the activity log names"), log);
            rig.awaitSynced(Duration.ofSeconds(120));
            double compared = ReplicationRig.metric(rig.wedgeMetrics, "tapline_resync_compared_bytes_total");
            System.out.printf("write-once power cut: the resync compared %.0f MiB of a 1 GiB volume holding 72 MiB%n",
                    compared / (1 << 20));
            assertTrue(compared > 0 && compared <= (16 << 20), "compared " + compared + " bytes (expected: the hot"
                    + " extents, at most 4 x 4 MiB)");
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-r", "-c", "read -P 0 512M 4M", "-c", "read -P 0x22 516M 4M",
                    rig.replica().toString());
            rig.assertReplicaMatchesPrimary();
            Peers.Result json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(),
                    "--json");
            assertTrue(json.output().contains("\"powerCutCoversEveryRemote\" : true"), json.output());
            Peers.Result text = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString());
            assertTrue(text.output().contains("with a replica that applied seq") && text.output().contains("(every remote has)"),
                    text.output());
        }
    }

    /**
     * Writes 8 MiB of 0x22 at 512 MiB through the wedge without a flush (qemu-io stays connected),
     * waits until {@code watched} (the primary, or the replica it was shipped to) holds them, then
     * kills the wedge with -9 and the writer.
     */
    private void killDuringAnUnflushedWrite(ReplicationRig rig, Path watched) throws Exception {
        Path out = dir.resolve("unflushed-writer.log");
        Process unflushed = new ProcessBuilder("qemu-io", "-f", "raw", "-c", "write -P 0x22 512M 8M",
                "-c", "sleep 120000", rig.uri()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            Poll.until(Duration.ofSeconds(60), () -> "the unflushed write on " + watched + ": " + read(out),
                    () -> filledWith(watched, 512L << 20, 8 << 20, (byte) 0x22));
            rig.wedge().kill9();
        } finally {
            unflushed.destroyForcibly().waitFor();
        }
    }

    /** Rewrites a sequence.reserved file as if another boot had written it (docs/formats.md: zero boot id). */
    private static void forgetBoot(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        for (int i = 16; i < 32; i++) {
            b.put(i, (byte) 0);
        }
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b.array(), 0, 32);
        b.putInt(32, (int) crc.getValue());
        Files.write(file, b.array());
    }

    /** Whether {@code [offset, offset + length)} of {@code file} holds {@code value} throughout (what the wedge applied). */
    private static boolean filledWith(Path file, long offset, int length, byte value) {
        ByteBuffer b = ByteBuffer.allocate(length);
        try (FileChannel ch = FileChannel.open(file)) {
            while (b.hasRemaining() && ch.read(b, offset + b.position()) > 0) {
                // read on
            }
        } catch (IOException e) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            if (b.get(i) != value) {
                return false;
            }
        }
        return true;
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    /**
     * kill -9 of the wedge (started with {@code wedgeArgs}) while a writer streams numbered blocks,
     * a restart, {@code afterRestart}, the rest of the stream: every block the writer saw
     * acknowledged is on the primary and on the replica, and the replica equals the primary.
     */
    private void killWedgeMidStream(RigCheck afterRestart, String... wedgeArgs) throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 256L << 20)) {
            rig.startReplayer();
            rig.startWedge(wedgeArgs);
            Path acks = dir.resolve("acks.txt");
            Process writer = startWriter(rig, acks, 0, BLOCKS);
            awaitAcks(acks, 300, writer);
            rig.wedge().kill9();
            writer.waitFor();
            int acked = readAcks(acks).size();
            assertTrue(acked < BLOCKS, "the writer finished before the kill; the test proves nothing");

            rig.startWedge(wedgeArgs);
            assertAckedBlocksPresent(rig.primary(), readAcks(acks)); // nothing acknowledged was lost
            afterRestart.check(rig);
            Process rest = startWriter(rig, acks, acked, BLOCKS - acked);
            assertEquals(0, rest.waitFor(), "writer after restart");

            rig.awaitSynced(Duration.ofSeconds(180));
            assertAckedBlocksPresent(rig.primary(), readAcks(acks));
            assertAckedBlocksPresent(rig.replica(), readAcks(acks));
            rig.assertReplicaMatchesPrimary();
        }
    }

    /** A check of a running rig. */
    private interface RigCheck {
        void check(ReplicationRig rig) throws Exception;
    }

    @Test
    void replayerKilledMidStreamResumesWithoutLoss() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 256L << 20).start()) {
            Path acks = dir.resolve("acks.txt");
            Process writer = startWriter(rig, acks, 0, BLOCKS);
            awaitAcks(acks, 300, writer);
            rig.replayer().kill9();
            assertEquals(0, writer.waitFor(), "the host's writes must not fail while the replayer is down");
            rig.startReplayer();
            rig.awaitSynced(Duration.ofSeconds(120));
            assertAckedBlocksPresent(rig.replica(), readAcks(acks));
            rig.assertReplicaMatchesPrimary();
        }
    }

    /**
     * A replayer that hangs (SIGSTOP: its connection stays open and its kernel keeps taking the
     * bytes, as with a process stuck on a dead disk) while the host writes: within the silence timeout
     * (3 s here) the source says the link is down and why, never "connected", and once the
     * replayer runs again the source reconnects by itself and the replica ends equal.
     */
    @Test
    void replayerThatHangsIsReportedDownAndRejoinedWhenItRunsAgain() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 256L << 20).startWithWedgeJvmOptions(
                List.of("-Xmx512m", "-Dtapline.ship.silenceTimeoutMillis=3000"))) {
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x21 0 4M", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.replayer().suspend(true);
            try {
                Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x22 1M 8M", rig.uri());
                com.fasterxml.jackson.databind.JsonNode remote = ReplicationRig.awaitFirstRemote(rig.buffer(),
                        r -> !r.get("connected").asBoolean(), Duration.ofSeconds(30), rig.wedge());
                assertTrue(remote.get("lastError").asText().startsWith("replayer not answering: nothing heard for"),
                        remote.toString());
                assertEquals(0.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_link_connected"),
                        "metrics must show the link down");
                Peers.Result status = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer",
                        rig.buffer().toString(), "--wait-synced", "0");
                assertEquals(1, status.exitCode(), status.output());
                String text = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString())
                        .output();
                assertTrue(text.contains("oldest write not yet acknowledged by every remote: captured "), text);
            } finally {
                rig.replayer().suspend(false);
            }
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
        }
    }

    @Test
    void replayerDownForMinutesWhileHostWritesEndsInZeroLoss() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, ReplicationRig.LARGE_VOLUME_BYTES).start()) {
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x11 0 4M", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.replayer().kill9();
            // The host keeps writing for the whole outage (4 KiB random writes with flushes), while
            // status is sampled: valid figures all along (acceptance question 6).
            Process load = new ProcessBuilder("/usr/bin/python3", writerScript().toString(), "random", rig.uri(),
                    Integer.toString(OUTAGE_SECONDS), "200", "5").redirectErrorStream(true)
                    .redirectOutput(dir.resolve("outage-writer.log").toFile()).start();
            long lastCaptured = 0;
            int samples = 0;
            while (!load.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                lastCaptured = assertValidDuringOutage(rig, lastCaptured);
                samples++;
            }
            assertEquals(0, load.exitValue(), "writer during the outage: " + Files.readString(dir.resolve(
                    "outage-writer.log")));
            assertTrue(samples >= Math.min(3, OUTAGE_SECONDS / 20), "status sampled " + samples + " times");
            Peers.Result status = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer",
                    rig.buffer().toString(), "--json");
            assertTrue(status.output().contains("\"synced\" : false"), "status must show the replica behind:\n"
                    + status.output());
            assertEquals(0.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_link_connected"),
                    "metrics must show the link down");
            rig.startReplayer();
            rig.awaitSynced(Duration.ofSeconds(180));
            rig.assertReplicaMatchesPrimary();
        }
    }

    /**
     * One status sample while the replayer is down: never synced, the remote disconnected, the
     * captured sequence only grows, the buffer's mode and sizes valid; the host's disk has its size.
     */
    private static long assertValidDuringOutage(ReplicationRig rig, long lastCaptured) throws Exception {
        String out = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(), "--json")
                .output();
        com.fasterxml.jackson.databind.JsonNode r = io.tapline.tools.cli.Json.mapper().readTree(
                out.substring(out.indexOf('{')));
        com.fasterxml.jackson.databind.JsonNode v = r.get("volumes").get(0);
        assertEquals(false, r.get("synced").asBoolean(), out);
        assertEquals(false, v.get("remotes").get(0).get("connected").asBoolean(), out);
        long captured = v.get("captured").asLong();
        assertTrue(captured >= lastCaptured, "captured went back: " + captured + " < " + lastCaptured);
        assertTrue(java.util.Set.of("DATA", "HIGH_WATER", "FULL").contains(v.get("mode").asText()), out);
        assertTrue(v.get("retainedBytes").asLong() >= 0 && v.get("retainedBytes").asLong() <= v.get("maxBytes").asLong(),
                out);
        String size = Peers.ok(Duration.ofSeconds(30), "nbdinfo", "--size", rig.uri()).strip();
        assertEquals(Long.toString(ReplicationRig.LARGE_VOLUME_BYTES), size, "the host's disk keeps its size");
        return captured;
    }

    private Process startWriter(ReplicationRig rig, Path acks, int first, int count) throws IOException {
        return new ProcessBuilder("/usr/bin/python3", writerScript().toString(), "blocks", rig.uri(), acks.toString(),
                Integer.toString(first), Integer.toString(count), Integer.toString(BLOCK))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("writer.log").toFile()))
                .start();
    }

    private Path writerScript() throws IOException {
        Path script = dir.resolve("nbd_writer.py");
        if (!Files.exists(script)) {
            try (InputStream in = CrashAndOutageIT.class.getResourceAsStream("/nbd_writer.py")) {
                Files.copy(in, script, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return script;
    }

    private static void awaitAcks(Path acks, int atLeast, Process writer) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(acks) && readAcks(acks).size() >= atLeast) {
                return;
            }
            if (!writer.isAlive()) {
                throw new AssertionError("writer exited " + writer.exitValue() + " before " + atLeast + " acks");
            }
            writer.waitFor(20, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        throw new AssertionError("fewer than " + atLeast + " acknowledged writes within 60 s");
    }

    private static List<Integer> readAcks(Path acks) throws IOException {
        // A line is complete only with its newline: the writer may have died mid-line.
        String text = Files.readString(acks);
        int end = text.lastIndexOf('\n');
        return end < 0 ? List.of() : text.substring(0, end).lines().map(Integer::parseInt).toList();
    }

    private static void assertAckedBlocksPresent(Path image, List<Integer> acked) throws IOException {
        try (FileChannel ch = FileChannel.open(image)) {
            ByteBuffer buf = ByteBuffer.allocate(BLOCK);
            for (int i : acked) {
                buf.clear();
                ch.read(buf, (long) i * BLOCK);
                byte expected = (byte) (i % 251 + 1);
                for (int b = 0; b < BLOCK; b++) {
                    if (buf.get(b) != expected) {
                        throw new AssertionError("acknowledged block " + i + " missing on " + image + " at byte " + b);
                    }
                }
            }
        }
    }
}
