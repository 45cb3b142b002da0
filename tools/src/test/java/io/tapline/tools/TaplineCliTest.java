package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
        CommandLine cl = TaplineCli.newCommandLine(false);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Outcome(code, out.toString(), err.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "replay", "wedge", "status", "quickstart", "buffer", "buffer repair", "buffer discard",
        "rollback", "promote", "demote", "switchover", "resolve", "config", "config set", "capture", "ship"})
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
}
