package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** The CLI's contract: --help everywhere, one clear line and a non-zero exit on bad input. */
class TaplineCliTest {

    @TempDir
    Path dir;

    private record Outcome(int exitCode, String out, String err) {
    }

    private static Outcome run(String... args) {
        CommandLine cl = TaplineCli.newCommandLine(false, args); // as TaplineCli.run builds it
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Outcome(code, out.toString(), err.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "replay", "wedge", "status", "quickstart", "buffer", "buffer repair", "buffer discard",
        "rollback", "promote", "demote", "switchover", "resolve", "config", "config set", "capture", "ship", "snoop"})
    void everyCommandHasHelp(String command) {
        String[] words = command.isEmpty() ? new String[0] : command.split(" ");
        String[] args = java.util.Arrays.copyOf(words, words.length + 1);
        args[words.length] = "--help";
        Outcome o = run(args);
        assertEquals(0, o.exitCode(), o.err());
        assertTrue(o.out().contains("Usage: tapline"), o.out());
    }

    @Test
    void anExportNameThatIsAPathIsRefusedBeforeAnythingIsCreated(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "../escape", "--volume",
                dir.resolve("v.img").toString(), "--size", "1M", "--buffer", dir.resolve("b").toString());
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("--export: \"../escape\" (expected: not \".\", no \"..\")"), o.err());
        assertTrue(!java.nio.file.Files.exists(dir.resolve("v.img")) && !java.nio.file.Files.exists(dir.resolve("b")),
                "nothing created");
    }

    @Test
    void wrongAddressIsOneLineAndExitTwo() {
        Outcome o = run("replay", "--listen", "127.0.0.1:99999", "--data", dir.toString());
        assertEquals(2, o.exitCode());
        assertTrue(o.err().startsWith("tapline: Invalid value for option '--listen': port: 99999 (expected: 0..65535)"), o.err());
    }

    @Test
    void undoRetentionBelowOneSegmentIsRefusedInOneLine() {
        Outcome o = run("replay", "--listen", "127.0.0.1:0", "--data", dir.toString(), "--undo-max-bytes", "1M");
        assertEquals(1, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --undo-max-bytes/--undo-max-age: maxBytes: 1048576 (expected: >="
                + " segmentBytes 67108864)"), o.err());
    }

    @Test
    void undoRetentionOptionsReachTheConfig() {
        assertEquals(new io.tapline.log.undo.UndoConfig(64L << 20, 200L << 30, java.time.Duration.ofHours(12)),
                ReplayCommand.undoConfig(200L << 30, java.time.Duration.parse("PT12H")));
        assertEquals(io.tapline.log.undo.UndoConfig.DEFAULT, ReplayCommand.undoConfig(null, null));
    }

    @Test
    void addressWithoutPortIsRefused() {
        Outcome o = run("replay", "--listen", "localhost", "--data", dir.toString());
        assertEquals(2, o.exitCode());
        assertTrue(o.err().contains("expected: HOST:PORT"), o.err());
    }

    @Test
    void negativeSizeIsRefused() {
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "v", "--volume", dir.resolve("p.img").toString(),
                "--size", "-4G", "--buffer", dir.resolve("b").toString());
        assertEquals(2, o.exitCode());
        assertTrue(o.err().contains("size: '-4G' (expected: > 0)"), o.err());
    }

    @Test
    void newVolumeWithoutSizeIsRefused() {
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "v", "--volume", dir.resolve("p.img").toString(),
                "--buffer", dir.resolve("b").toString());
        assertEquals(2, o.exitCode());
        assertTrue(o.err().contains("--size: missing"), o.err());
    }

    @Test
    void sizeMismatchWithExistingVolumeIsRefusedAndTheFileIsUntouched() throws Exception {
        Path volume = dir.resolve("p.img");
        Files.write(volume, new byte[8192]);
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "v", "--volume", volume.toString(),
                "--size", "1M", "--buffer", dir.resolve("b").toString());
        assertEquals(1, o.exitCode());
        assertTrue(o.err().contains("--size: 1048576 bytes (expected: 8192"), o.err());
        assertEquals(8192, Files.size(volume));
    }

    @Test
    void unknownPrimaryCachePolicyIsRefusedWithTheKnownOnes() {
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "v", "--volume", dir.resolve("p.img").toString(),
                "--size", "1M", "--buffer", dir.resolve("b").toString(), "--primary-cache", "default");
        assertEquals(2, o.exitCode());
        assertTrue(o.err().contains("--primary-cache: default (expected: kernel or paced or none)"), o.err());
    }

    @Test
    void pacedPrimaryCacheIsRefusedInCycleMode() {
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "v", "--volume", dir.resolve("p.img").toString(),
                "--size", "1M", "--buffer", dir.resolve("b").toString(), "--mode", "cycles", "--primary-cache", "paced");
        assertEquals(2, o.exitCode());
        assertTrue(o.err().contains("--mode: cycles (expected: without --primary-cache paced"), o.err());
        assertFalse(Files.exists(dir.resolve("p.img")), "nothing was created");
    }

    @Test
    void volumeInMissingDirectoryIsRefused() {
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "v", "--volume", "/nonexistent/dir/p.img",
                "--size", "1M", "--buffer", dir.resolve("b").toString());
        assertEquals(1, o.exitCode());
        assertTrue(o.err().contains("expected: a file in an existing directory"), o.err());
    }

    @Test
    void statusOfMissingBufferFails() {
        Outcome o = run("status", "--buffer", dir.resolve("none").toString());
        assertEquals(1, o.exitCode());
        assertEquals(1, o.err().strip().lines().count(), o.err());
    }

    @Test
    void aVolumeWithoutAShipperIsNeverSynced() throws Exception {
        Path volumeDir = dir.resolve("buffer/vol1");
        try (io.tapline.log.buffer.CaptureBuffer buffer = io.tapline.log.buffer.CaptureBuffer.open(volumeDir, "vol1",
                io.tapline.log.buffer.BufferConfig.DEFAULT)) {
            buffer.append(io.tapline.log.RecordKind.WRITE, 0, 512, 0, io.tapline.log.Provenance.INTERNAL, new byte[512]);
            buffer.sync();
        }
        // No remote: nothing holds a copy, so nothing is synced, however complete the capture is.
        Outcome shipless = run("status", "--buffer", dir.resolve("buffer").toString(), "--json");
        assertEquals(0, shipless.exitCode(), shipless.err());
        assertTrue(shipless.out().contains("\"synced\" : false"), "no remote: " + shipless.out());
        assertTrue(shipless.out().contains("\"notSyncedBecause\" : [ \"" + StatusCommand.NO_REMOTE + "\" ]"),
                shipless.out());
        Outcome waited = run("status", "--buffer", dir.resolve("buffer").toString(), "--wait-synced", "0");
        assertEquals(1, waited.exitCode(), waited.out());
        assertTrue(waited.err().contains(StatusCommand.NO_REMOTE), waited.err());

        String why = "no shipper: the volume's size was not seen on the wire";
        new SourceStatusFile(null, "", true, System.currentTimeMillis(), null, why, null).write(volumeDir);
        Outcome o = run("status", "--buffer", dir.resolve("buffer").toString(), "--json");
        assertEquals(0, o.exitCode(), o.err());
        assertTrue(o.out().contains("\"synced\" : false"), o.out());
        assertTrue(o.out().contains("\"notSyncedBecause\" : [ \"" + why + "\" ]"), o.out());
    }

    @Test
    void aRemoteOnPortZeroAndASizeOf8EAreRefusedInOneLine() {
        Outcome remote = run("wedge", "--nbd", "127.0.0.1:0", "--export", "v", "--volume",
                dir.resolve("v.img").toString(), "--size", "1M", "--buffer", dir.resolve("b").toString(),
                "--remote", "127.0.0.1:0");
        assertEquals(2, remote.exitCode(), remote.err());
        assertTrue(remote.err().contains("port: 0 in '127.0.0.1:0' (expected: the peer's port, 1..65535)"), remote.err());
        Outcome size = run("wedge", "--nbd", "127.0.0.1:0", "--export", "v", "--volume",
                dir.resolve("v.img").toString(), "--size", "8E", "--buffer", dir.resolve("b").toString());
        assertEquals(2, size.exitCode(), size.err());
        assertTrue(size.err().contains("size: '8E' (expected: below 8E, 2^63 bytes)"), size.err());
        assertFalse(Files.exists(dir.resolve("v.img")), "nothing made");
    }

    @Test
    void anEmptyBufferDirectoryIsNotSynced() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Outcome o = run("status", "--buffer", empty.toString(), "--json");
        assertEquals(0, o.exitCode(), o.err());
        assertTrue(o.out().contains("\"synced\" : false"), "nothing captured, nothing vouched for: " + o.out());
        assertTrue(o.out().contains(StatusCommand.NO_VOLUME), o.out());
        Outcome waited = run("status", "--buffer", empty.toString(), "--wait-synced", "0");
        assertEquals(1, waited.exitCode(), waited.out());
        assertTrue(waited.out().contains("not synced: " + StatusCommand.NO_VOLUME), waited.out());
        assertTrue(waited.err().contains(StatusCommand.NO_VOLUME), waited.err());
    }

    @Test
    void statusOfADirectoryThatIsNoBufferNamesTheOption() throws Exception {
        Path notABuffer = Files.createDirectories(dir.resolve("etc/.java"));
        Outcome o = run("status", "--buffer", notABuffer.getParent().toString());
        assertEquals(1, o.exitCode());
        assertEquals("tapline: --buffer: " + notABuffer.getParent() + " (expected: a capture buffer directory, one"
                + " folder per volume holding buffer.state)", o.err().strip());
    }

    @Test
    void replayDataThatIsAFileIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("passwd"), "root:x:0:0");
        Outcome o = run("replay", "--listen", "127.0.0.1:0", "--data", file.toString());
        assertEquals(1, o.exitCode());
        assertEquals("tapline: --data: " + file + " (expected: a directory)", o.err().strip());
    }

    @Test
    void rollbackToAFutureTimeIsRefusedBeforeAskingTheReplayer() {
        String future = java.time.Instant.now().plus(java.time.Duration.ofDays(1)).toString();
        Outcome o = run("rollback", "--remote", "127.0.0.1:1", "--volume", "vol1", "--to-time", future);
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --to-time: " + future + " (expected: not after now, "), o.err());
    }

    @Test
    void everyDurationOptionTakesTheShortFormAndIsoAndSaysSoInOneLine() {
        var any = new io.tapline.tools.cli.AnyDurationConverter();
        assertEquals(java.time.Duration.ofSeconds(30), any.convert("30s"));
        assertEquals(java.time.Duration.ofDays(7), any.convert("7d"));
        assertEquals(java.time.Duration.ofDays(7), any.convert("P7D"));
        assertEquals(java.time.Duration.ofMillis(500), any.convert("PT0.5S"));
        Outcome bad = run("events", "--buffer", dir.toString(), "--for", "bogus");
        assertEquals(2, bad.exitCode(), bad.err());
        assertTrue(bad.err().startsWith("tapline: Invalid value for option '--for': 'bogus' (expected: a duration such as"
                + " 30s, 5m, 12h, 7d or ISO-8601 PT30S, P7D)"), bad.err());
        assertFalse(bad.err().contains("java.time"), bad.err());
    }

    @Test
    void optionsCountedInSecondsTakeDurationsToo() {
        var seconds = new io.tapline.tools.cli.SecondsConverter();
        assertEquals(60, seconds.convert("60"));
        assertEquals(0, seconds.convert("0"));
        assertEquals(30, seconds.convert("30s"));
        assertEquals(120, seconds.convert("2m"));
        assertEquals(30, seconds.convert("PT30S"));
        assertEquals(1, seconds.convert("500ms"));
        // --wait-synced with a duration parses and waits as its seconds do: no buffer here, so exit 1 at once.
        Outcome o = run("status", "--buffer", dir.resolve("nothing").toString(), "--wait-synced", "30s");
        assertFalse(o.err().contains("Invalid value"), o.err());
        Outcome bad = run("status", "--buffer", dir.toString(), "--wait-synced", "soon");
        assertEquals(2, bad.exitCode(), bad.err());
        assertTrue(bad.err().startsWith("tapline: Invalid value for option '--wait-synced': 'soon' (expected: a duration"),
                bad.err());
    }

    @Test
    void aMarkOrAShipRequestWithNoSourceRunningFailsAtOnceInsteadOfWaitingItsTimeout() throws Exception {
        Path requests = Files.createDirectories(dir.resolve("buf/vol1/requests"));
        Files.write(dir.resolve("buf/vol1/buffer.state"), new byte[0]); // a capture buffer's volume folder
        long start = System.nanoTime();
        Outcome mark = run("mark", "--buffer", dir.resolve("buf").toString(), "--volume", "vol1", "m1");
        assertEquals(1, mark.exitCode(), mark.err());
        assertEquals("tapline: volume vol1: no wedge or snoop runs on " + requests.getParent().toAbsolutePath()
                + " (nothing holds its buffer): start it, then ask again", mark.err().strip());
        Outcome ship = run("ship", "--buffer", dir.resolve("buf").toString(), "--volume", "vol1", "pause");
        assertEquals(1, ship.exitCode(), ship.err());
        assertTrue(ship.err().contains("no wedge or snoop runs on"), ship.err());
        assertTrue(System.nanoTime() - start < 25_000_000_000L, "not the 30 s timeout");
        try (var files = Files.list(requests)) {
            assertEquals(0, files.count(), "no request left behind");
        }
    }

    @Test
    void aPcapThatIsADirectoryIsNamedSoNotAsMissing() throws Exception {
        Path notAFile = Files.createDirectories(dir.resolve("capture.pcap"));
        Outcome o = run("snoop", "--pcap", notAFile.toString(), "--buffer", dir.resolve("b").toString());
        assertEquals(1, o.exitCode(), o.err());
        assertEquals("tapline: capture file: " + notAFile + " is a directory (expected: a pcap or pcapng file)",
                o.err().strip());
    }

    @Test
    void aWedgeNodesFolderWithOnlySecondariesIsNamedAsSuch() throws Exception {
        Path nodeBuffer = Files.createDirectories(dir.resolve("a-buffer/node/vol1")).getParent().getParent();
        Outcome o = run("status", "--buffer", nodeBuffer.toString());
        assertEquals(1, o.exitCode(), o.err());
        assertTrue(o.err().contains("is a wedge node's folder whose volumes are secondaries on this node now")
                && o.err().contains("see tapline status --data " + nodeBuffer.resolve("node")), o.err());
    }

    @Test
    void aFailureWithJsonIsMachineReadableOnStdoutTooWithItsExitCode() throws Exception {
        Path notABuffer = Files.createDirectories(dir.resolve("home/.cache")).getParent();
        Outcome failed = run("status", "--buffer", notABuffer.toString(), "--json");
        assertEquals(1, failed.exitCode(), failed.err());
        com.fasterxml.jackson.databind.JsonNode failure = io.tapline.tools.cli.Json.mapper().readTree(failed.out());
        assertEquals("--buffer: " + notABuffer + " (expected: a capture buffer directory, one folder per volume holding"
                + " buffer.state)", failure.get("error").asText());
        assertEquals(1, failure.get("exitCode").asInt());
        Outcome badArgument = run("status", "--json", "--no-such-option");
        assertEquals(2, badArgument.exitCode(), badArgument.err());
        com.fasterxml.jackson.databind.JsonNode bad = io.tapline.tools.cli.Json.mapper().readTree(badArgument.out());
        assertTrue(bad.get("error").asText().startsWith("Unknown option: '--no-such-option'"), badArgument.out());
        assertEquals(2, bad.get("exitCode").asInt());
        Outcome plain = run("status", "--buffer", notABuffer.toString());
        assertEquals("", plain.out(), "without --json stdout stays empty");
    }

    @Test
    void anImageAsOfAFutureTimeIsRefusedAsRollbackRefusesIt() throws Exception {
        Files.createDirectories(dir.resolve("data/vol1"));
        String future = java.time.Instant.now().plus(java.time.Duration.ofDays(1)).toString();
        Outcome o = run("image", "--data", dir.resolve("data").toString(), "--volume", "vol1", "--as-of", future,
                "--out", dir.resolve("img").toString());
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --as-of: " + future + " (expected: not after now, "), o.err());
        assertFalse(Files.exists(dir.resolve("img")));
    }

    @Test
    void unreadableCredentialFileFails() {
        Outcome o = run("replay", "--listen", "127.0.0.1:0", "--data", dir.toString(), "--credential-file",
                dir.resolve("missing-secret").toString());
        assertEquals(1, o.exitCode());
        assertTrue(o.err().contains("credential file"), o.err());
    }

    @Test
    void unknownSubcommandExitsTwo() {
        assertEquals(2, run("frobnicate").exitCode());
    }

    @Test
    void sizesParseWithBinaryUnits() {
        assertEquals(4096L, io.tapline.tools.cli.ByteSizeConverter.parse("4096"));
        assertEquals(64L << 20, io.tapline.tools.cli.ByteSizeConverter.parse("64M"));
        assertEquals(4L << 30, io.tapline.tools.cli.ByteSizeConverter.parse("4GiB"));
        assertEquals(1L << 40, io.tapline.tools.cli.ByteSizeConverter.parse("1t"));
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
        "--pcap f.pcap --snaplen 100|--snaplen: only with --interface",
        "--interface lo --snaplen 0|--snaplen: 0 (expected: 1 to 262144)",
        "--interface lo --snaplen 262145|--snaplen: 262145 (expected: 1 to 262144)",
        "--pcap f.pcap --decode-queue 64M|--decode-queue: only with --interface",
        "--interface lo --decode-queue 1M|--decode-queue: 1048576 bytes (expected: 16M to ",
        "--pcap f.pcap --write-pcap ring|--write-pcap: only with --interface",
        "--interface lo --write-pcap-files 3|--write-pcap-files: only with --write-pcap DIR",
        "--interface lo --write-pcap ring --write-pcap-files 0|--write-pcap-files: 0 (expected: at least 1)",
        "--interface lo --write-pcap ring --write-pcap-size 100|--write-pcap-size: 100 (expected: at least 4096 bytes)",
        "--pcap f.pcap --ship-timeout 10|--ship-timeout: only with --pcap and --remote",
        "--interface lo --remote 127.0.0.1:1 --ship-timeout 10|--ship-timeout: only with --pcap and --remote",
        "--pcap f.pcap --remote 127.0.0.1:1 --ship-timeout 0|--ship-timeout: 0 (expected: at least 1 second)",
        "--pcap f.pcap --filter tcp~prot~80|--filter: 'tcp prot 80' (expected: a BPF expression",
        "--interface lo --filter ~|--filter: ' ' (expected: a BPF expression",
        "--interface lo --filter tcp~prot~80|--filter: 'tcp prot 80' (expected: a BPF expression",
        "--interface lo --iscsi-port 99999|--iscsi-port: 99999 (expected: 1 to 65535)",
        "--interface lo --nbd-port 0|--nbd-port: 0 (expected: 1 to 65535)",
        "--pcap f.pcap --source v=nbd://127.0.0.1:1/v|--source: only with --interface",
        "--pcap f.pcap --capture-buffer 1M|--capture-buffer: only with --interface",
        "--pcap f.pcap --http 127.0.0.1:1|--http: only with --interface",
        "--pcap f.pcap --remote 127.0.0.1:7070 --remote 127.0.0.1:7070|--remote: 127.0.0.1:7070 given twice"})
    void snoopRefusesAnOptionThatDoesNotFitInOneLineWithExitTwo(String args, String expected) throws Exception {
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("snoop", "--buffer",
                dir.resolve("buffer").toString()));
        for (String a : args.split(" ")) {
            argv.add(a.equals("f.pcap") ? sampleCapture().toString() : a.replace('~', ' '));
        }
        Outcome o = run(argv.toArray(String[]::new));
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: " + expected), o.err());
        assertEquals(1, o.err().lines().count(), o.err());
    }

    @Test
    void auditListOfADamagedLogSaysSoAndExitsOneAndAnUnknownKindIsRefused() throws Exception {
        Path volumeDir = dir.resolve("data").resolve("v");
        try (io.tapline.log.audit.AuditLog audit = io.tapline.log.audit.AuditLog.open(volumeDir)) {
            for (int i = 1; i <= 20; i++) {
                audit.append(io.tapline.log.audit.AuditType.MARK, i, i, 0, 0, 0, 0, null, "alice@h", "mark " + i);
            }
            audit.sync();
        }
        Outcome whole = run("audit", "list", "--data", dir.resolve("data").toString(), "--volume", "v");
        assertEquals(0, whole.exitCode(), whole.err());
        assertTrue(whole.err().isEmpty(), whole.err());
        Path log;
        try (var files = Files.list(volumeDir.resolve("audit"))) {
            log = files.filter(f -> f.getFileName().toString().endsWith(".log")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(log);
        bytes[bytes.length / 2] ^= 0x5a;
        Files.write(log, bytes);
        java.io.ByteArrayOutputStream stderr = new java.io.ByteArrayOutputStream();
        java.io.PrintStream was = System.err;
        Outcome damaged;
        System.setErr(new java.io.PrintStream(stderr, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            damaged = run("audit", "list", "--data", dir.resolve("data").toString(), "--volume", "v");
        } finally {
            System.setErr(was);
        }
        assertEquals(1, damaged.exitCode(), damaged.err());
        assertEquals(1, run("heat", "--data", dir.resolve("data").toString(), "--volume", "v").exitCode(),
                "heat reads the same damaged log");
        String warning = stderr.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(warning.startsWith("tapline: warning: the audit log of volume v is not intact ("), warning);
        Outcome unknown = run("audit", "list", "--data", dir.resolve("data").toString(), "--volume", "v", "--kind",
                "bogus");
        assertEquals(2, unknown.exitCode(), unknown.err());
        assertTrue(unknown.err().contains("--kind: bogus (expected: an entry type or a record kind"), unknown.err());
    }

    @Test
    void quickstartRefusesABadExportNameAndOneAddressForBothEnds() {
        Outcome export = run("quickstart", "--dir", dir.resolve("qs").toString(), "--export", "../x");
        assertEquals(2, export.exitCode(), export.err());
        assertTrue(export.err().startsWith("tapline: --export: \"../x\""), export.err());
        Outcome same = run("quickstart", "--dir", dir.resolve("qs").toString(), "--nbd", "127.0.0.1:7", "--link",
                "127.0.0.1:7");
        assertEquals(2, same.exitCode(), same.err());
        assertTrue(same.err().startsWith("tapline: --nbd/--link: both 127.0.0.1:7"), same.err());
        assertFalse(Files.exists(dir.resolve("qs")), "nothing made");
    }

    @Test
    void aMarkNameWithAControlCharacterAndAHeatOfMillionsOfSlicesAreRefused() {
        Outcome mark = run("mark", "--buffer", dir.resolve("buffer").toString(), "--volume", "v", "ok\n  9999 forged row");
        assertEquals(2, mark.exitCode(), mark.err());
        assertTrue(mark.err().startsWith("tapline: NAME: control character 0xa at index 2"), mark.err());
        Outcome heat = run("heat", "--data", dir.toString(), "--volume", "v", "--slices", "100000000");
        assertEquals(2, heat.exitCode(), heat.err());
        assertTrue(heat.err().contains("(expected: >= 512 bytes, >= 1, 1..1000)"), heat.err());
    }

    @Test
    void forgetRemoteDeletesTheCursorOnlyWhileNoSourceHoldsTheBuffer() throws Exception {
        Path volumeDir = dir.resolve("buffer").resolve("vol1");
        io.tapline.log.buffer.BufferConfig config = io.tapline.log.buffer.BufferConfig.ofMaxBytes(8L << 20, 64L << 20);
        try (io.tapline.log.buffer.CaptureBuffer b = io.tapline.log.buffer.CaptureBuffer.open(volumeDir, "vol1", config)) {
            b.registerRemote("127.0.0.1_7070");
            b.registerRemote("127.0.0.1_7071");
            Outcome held = run("buffer", "forget-remote", "--buffer", dir.resolve("buffer").toString(), "--volume",
                    "vol1", "--remote", "127.0.0.1:7071");
            assertEquals(1, held.exitCode(), held.err());
            assertTrue(held.err().contains("is in use by another process"), held.err());
            assertTrue(held.err().strip().endsWith(": stop the wedge or snoop that uses it first"), held.err());
        }
        Outcome wrongFlag = run("status", "--data", dir.resolve("buffer").toString());
        assertEquals(2, wrongFlag.exitCode(), wrongFlag.err());
        assertTrue(wrongFlag.err().contains("is a capture buffer, not a replayer's data directory"), wrongFlag.err());
        Outcome forgotten = run("buffer", "forget-remote", "--buffer", dir.resolve("buffer").toString(), "--volume",
                "vol1", "--remote", "127.0.0.1:7071", "--json");
        assertEquals(0, forgotten.exitCode(), forgotten.err());
        assertTrue(forgotten.out().contains("\"remote\" : \"127.0.0.1:7071\""), forgotten.out());
        assertFalse(Files.exists(volumeDir.resolve("remote-127.0.0.1_7071.cursor")));
        assertTrue(Files.exists(volumeDir.resolve("remote-127.0.0.1_7070.cursor")), "the other one stays");
        Outcome again = run("buffer", "forget-remote", "--buffer", dir.resolve("buffer").toString(), "--volume",
                "vol1", "--remote", "127.0.0.1:7071");
        assertEquals(1, again.exitCode());
        assertTrue(again.err().startsWith("tapline: remote: 127.0.0.1_7071 (expected: one of [127.0.0.1_7070]"),
                again.err());
    }

    @Test
    void configSetRefusesPortZeroForARemoteAndTakesZeroAsAnUnlimitedResyncRate() throws Exception {
        Outcome zeroPort = run("config", "set", "--buffer", dir.resolve("buffer").toString(), "--volume", "v",
                "--remote", "127.0.0.1:7070=127.0.0.1:0");
        assertEquals(2, zeroPort.exitCode(), zeroPort.err());
        assertTrue(zeroPort.err().startsWith("tapline: --remote: port: 0 in '127.0.0.1:0' (expected: the peer's port"),
                zeroPort.err());
        Outcome unlimited = run("config", "set", "--buffer", dir.resolve("buffer").toString(), "--volume", "v",
                "--resync-rate", "0");
        assertTrue(!unlimited.err().contains("size: '0'"), "0 = unlimited is accepted: " + unlimited.err());
    }

    @Test
    void switchoverToItselfOrToANodeThatDoesNotAnswerChangesNothing() throws Exception {
        Outcome same = run("switchover", "--volume", "v", "--from", "127.0.0.1:7", "--to", "127.0.0.1:7");
        assertEquals(2, same.exitCode(), same.err());
        assertTrue(same.err().startsWith("tapline: --to: 127.0.0.1:7 (expected: another node than --from)"), same.err());
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        try (java.net.ServerSocket from = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            from.setSoTimeout(1);
            Outcome o = run("switchover", "--volume", "v", "--from", "127.0.0.1:" + from.getLocalPort(), "--to",
                    "127.0.0.1:" + closed);
            assertEquals(1, o.exitCode(), o.err());
            assertTrue(o.err().contains("127.0.0.1:" + closed + " does not answer"), o.err());
            assertTrue(o.err().contains("nothing changed"), o.err());
            assertThrows(java.net.SocketTimeoutException.class, from::accept, "--from was never asked to demote");
        }
    }

    @Test
    void snoopWithoutBufferIsRefusedInOneLine() {
        Outcome o = run("snoop", "--interface", "lo");
        assertEquals(2, o.exitCode(), o.err());
        assertEquals("tapline: --buffer: missing (expected: the capture buffer directory)", o.err().strip());
    }

    @Test
    void snoopHelpNamesEveryNewOption() {
        Outcome o = run("snoop", "--help");
        for (String option : java.util.List.of("--list-interfaces", "--snaplen", "--decode-queue", "--ship-timeout", "--write-pcap",
                "--write-pcap-size", "--write-pcap-files", "--filter", "--kafka", "--kafka-topic-prefix")) {
            assertTrue(o.out().contains(option), option + " in:\n" + o.out());
        }
    }

    /** A small pcap file with a valid header (no frames): the option checks come before it is read. */
    private Path sampleCapture() throws java.io.IOException {
        java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(24).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        h.putInt(0xA1B2C3D4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(262144).putInt(1);
        return Files.write(dir.resolve("empty.pcap"), h.array());
    }

    @Test
    void aRunThatNamesItsCommandGetsThatCommandAlone() {
        assertEquals(java.util.Set.of("status"),
                TaplineCli.newCommandLine(false, "--verbose", "status", "--buffer", "x").getSubcommands().keySet());
        assertEquals(java.util.Set.of("buffer"),
                TaplineCli.newCommandLine(false, "buffer", "repair", "--help").getSubcommands().keySet());
        assertEquals(java.util.Set.of(), TaplineCli.newCommandLine(false, "--version").getSubcommands().keySet());
        int all = TaplineCli.SUBCOMMANDS.size();
        assertEquals(all, TaplineCli.newCommandLine(false).getSubcommands().size());
        assertEquals(all, TaplineCli.newCommandLine(false, "--help").getSubcommands().size());
        assertEquals(all, TaplineCli.newCommandLine(false, "help", "status").getSubcommands().size());
        assertEquals(all, TaplineCli.newCommandLine(false, "nosuch").getSubcommands().size());
    }

    @Test
    void theGeneratorsTreeIsTheWholeTapline() {
        CommandLine tree = new CommandLine(TaplineCli.CommandTree.class);
        assertEquals("tapline", tree.getCommandName());
        assertEquals(TaplineCli.newCommandLine(false).getSubcommands().keySet(), tree.getSubcommands().keySet());
        assertEquals(TaplineCli.SUBCOMMANDS.size(), tree.getSubcommands().size());
        assertTrue(tree.getCommandSpec().findOption("--verbose") != null);
    }

    @Test
    void aLoneCommandKeepsTheInheritedOptionAndTheAddressConverter() {
        Outcome verbose = run("--verbose", "status", "--verbose", "--buffer", dir.resolve("none").toString());
        assertEquals(1, verbose.exitCode(), verbose.err()); // parsed (2 would be a usage error), then failed
        Outcome address = run("replay", "--listen", "127.0.0.1:99999", "--data", dir.toString());
        assertEquals(2, address.exitCode(), address.err());
        assertTrue(address.err().contains("port: 99999 (expected: 0..65535)"), address.err());
    }

    @Test
    void helpAndUnknownCommandsStillListOrRefuseEveryCommand() {
        Outcome usage = run("--help");
        assertEquals(0, usage.exitCode(), usage.err());
        for (String name : java.util.List.of("replay", "wedge", "snoop", "status", "rollback", "window")) {
            assertTrue(usage.out().contains("  " + name + " "), name + " in\n" + usage.out());
        }
        Outcome help = run("help", "rollback");
        assertEquals(0, help.exitCode(), help.err());
        assertTrue(help.out().contains("Usage: tapline rollback"), help.out());
        Outcome unknown = run("nosuch");
        assertEquals(2, unknown.exitCode(), unknown.err());
        assertTrue(unknown.err().contains("'nosuch'"), unknown.err());
    }

    @Test
    void resolveOnAVolumeNotInSplitBrainSaysSoAndNamesItsRole() throws Exception {
        java.nio.file.Files.createDirectories(dir.resolve("remote").resolve("vol1")); // a replica volume, no role file yet
        Outcome o = run("resolve", "--data", dir.resolve("remote").toString(), "--volume", "vol1", "--keep", "peer");
        assertEquals(1, o.exitCode(), o.err());
        assertTrue(o.err().contains("volume vol1 is not in a split brain on this node (secondary of generation"), o.err());
        assertTrue(!java.nio.file.Files.exists(dir.resolve("remote").resolve("vol1").resolve("requests")), "nothing asked");
    }

    @Test
    void aVolumeALiveSnoopHasNotMetSinceItStartedIsNotCalledTakenOffTheConfiguration() throws Exception {
        Path volumeDir = dir.resolve("buffer/vol1");
        try (io.tapline.log.buffer.CaptureBuffer buffer = io.tapline.log.buffer.CaptureBuffer.open(volumeDir, "vol1",
                io.tapline.log.buffer.BufferConfig.DEFAULT)) {
            buffer.registerRemote("127.0.0.1_39073");
            buffer.append(io.tapline.log.RecordKind.WRITE, 0, 512, 0, io.tapline.log.Provenance.INTERNAL, new byte[512]);
            buffer.sync();
            buffer.acknowledge("127.0.0.1_39073", 1);
        }
        Outcome before = run("status", "--buffer", dir.resolve("buffer").toString());
        assertTrue(before.out().contains("taken off its configuration"), "no snoop runs: " + before.out());
        assertTrue(before.out().contains("shipped -  acked 1  applied -"), "never reported: nothing applied known (probe"
                + " Q D4): " + before.out());
        long now = System.currentTimeMillis();
        new CaptureStatusFile(10, now, now, now, 0, true, now).write(dir.resolve("buffer")); // probe R D4
        Outcome o = run("status", "--buffer", dir.resolve("buffer").toString());
        assertTrue(o.out().contains("the running snoop has not seen this volume on the wire since it started"), o.out());
        assertTrue(!o.out().contains("forget-remote"), o.out());
    }

    /**
     * After a switchover there and back, a wedge node's volume has its buffer under the node's folder;
     * the operator's {@code --buffer} is still the node's. {@code buffer forget-remote} said it was no
     * volume of the buffer, and {@code verify --repair} (the same lookup) waited for its repair in a
     * folder that did not exist until its timeout (probe X D2).
     */
    @Test
    void forgetRemoteFindsANodesVolumePromotedBackToIt() throws Exception {
        Path buffer = dir.resolve("buf");
        Path volumeDir = SpoolClient.promotedVolumeDir(buffer, "vol1");
        String cursor = io.tapline.journey.shipper.ShipperConfig.cursorIdOf("127.0.0.1:39073");
        try (io.tapline.log.buffer.CaptureBuffer b = io.tapline.log.buffer.CaptureBuffer.open(volumeDir, "vol1",
                io.tapline.log.buffer.BufferConfig.DEFAULT)) {
            b.registerRemote(cursor);
        }
        assertEquals(volumeDir, SpoolClient.volumeDir(buffer, "vol1"));
        Outcome o = run("buffer", "forget-remote", "--buffer", buffer.toString(), "--volume", "vol1", "--remote",
                "127.0.0.1:39073");
        assertEquals(0, o.exitCode(), o.err());
        assertTrue(o.out().contains("remote 127.0.0.1:39073 forgotten by volume vol1"), o.out());
    }

    @Test
    void aPlainWedgeOnANodesBufferWhoseVolumeIsASecondaryIsRefused() throws Exception {
        Path nodeVolume = java.nio.file.Files.createDirectories(dir.resolve("buf/node/vol1"));
        new io.tapline.replay.VolumeRole(false, 22, 100, 1, "t", "").write(nodeVolume); // after a failover (probe Q D9)
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "vol1", "--volume", dir.resolve("p.img").toString(),
                "--size", "1M", "--buffer", dir.resolve("buf").toString());
        assertEquals(1, o.exitCode(), o.err());
        assertTrue(o.err().contains("a wedge node's (" + dir.resolve("buf").resolve("node")
                + ": volume vol1 is secondary of generation 22 there): start it as that node, with --listen"), o.err());
        assertTrue(!java.nio.file.Files.exists(dir.resolve("buf/vol1")), "no buffer made");
    }

    @Test
    void aPromotedVolumeOfAReplayerWithoutNbdIsNotCalledServed() throws Exception {
        Path data = java.nio.file.Files.createDirectories(dir.resolve("data"));
        new io.tapline.replay.VolumeRole(true, 22, 100, 1, "t", "").write(
                java.nio.file.Files.createDirectories(data.resolve("vol1")));
        java.nio.file.Files.writeString(data.resolve(ReplicaStatusReport.NBD_ENDPOINT_FILE), ""); // started without --nbd
        try (io.tapline.log.ExclusiveLock running = io.tapline.log.ExclusiveLock.acquire(data.resolve(".lock"), "data",
                data)) { // a replayer holds the folder (this JVM)
            Outcome o = run("status", "--data", data.toString(), "--json");
            assertEquals(0, o.exitCode(), o.err());
            assertTrue(o.out().contains("\"state\" : \"primary-unserved\""), o.out()); // probe Q D8
            assertTrue(o.out().contains("serves no NBD endpoint"), o.out());
        }
        Outcome stopped = run("status", "--data", data.toString(), "--json");
        assertTrue(stopped.out().contains("primary-unserved") && stopped.out().contains("no replayer or wedge node runs"),
                "no replayer runs: nothing serves it either (probe S S3) " + stopped.out());
    }

    @Test
    void aPlainWedgeOnANodesImageWithAnotherBufferIsRefused() throws Exception {
        Path nodeData = dir.resolve("a-buf/node");
        Path nodeVolume = java.nio.file.Files.createDirectories(nodeData.resolve("vol1"));
        new io.tapline.replay.VolumeRole(false, 2, 100, 1, "t", "").write(nodeVolume); // rejoined as secondary
        Path image = dir.resolve("primary.img");
        java.nio.file.Files.write(image, new byte[1 << 20]);
        java.nio.file.Files.createSymbolicLink(nodeVolume.resolve("replica.img"), image.toAbsolutePath());
        NodeVolumeMark.write(image, nodeVolume); // as the node did while it served it
        assertEquals(nodeVolume.toAbsolutePath(), NodeVolumeMark.read(image),
                "the mark is read back (the test folder's file system keeps user extended attributes, as ext4 does)");
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "other-name", "--volume", image.toString(),
                "--size", "1M", "--buffer", dir.resolve("other-buf").toString()); // probe S S1, T T3
        assertEquals(1, o.exitCode(), o.err());
        assertTrue(o.err().contains("--volume " + image + ": a wedge node's"), o.err());
        assertTrue(o.err().contains("volume vol1 is secondary of generation 2 there"), o.err());

        new io.tapline.replay.VolumeRole(true, 1, 0, 1, "t", "").write(nodeVolume);
        java.nio.file.Files.writeString(nodeVolume.resolve("split-brain"), "split brain\n"); // probe S S2
        Outcome split = run("wedge", "--nbd", "127.0.0.1:0", "--export", "vol1", "--volume", image.toString(),
                "--size", "1M", "--buffer", dir.resolve("a-buf").toString());
        assertEquals(1, split.exitCode(), split.err());
        assertTrue(split.err().contains("primary of generation 1 in a split brain there"), split.err());

        Path copy = dir.resolve("copy.img"); // a copy keeps the mark, but it is not the node's volume (probe T T4)
        java.nio.file.Files.copy(image, copy);
        NodeVolumeMark.write(copy, nodeVolume);
        assertEquals(null, NodeVolumeMark.read(copy), "the node's replica.img is another file: no refusal for it");
    }
}
