package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.journey.source.SourceSide;
import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.tools.cli.Json;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The status a source publishes carries its own audit log along: started, stopped, and a log it cannot write. */
class SourceStatusFilesTest {
    private static final BufferConfig BUFFER = new BufferConfig(1 << 20, 64L << 20, 32L << 20);

    @TempDir
    Path dir;

    @Test
    void aSourceLogsItsStartAndStopAndSaysWhenItCannotExtendItsLog() throws Exception {
        Path buffer = dir.resolve("buffer");
        Path volumeDir = buffer.resolve("vol1");
        run(volumeDir);
        List<String> entries = AuditLog.read(volumeDir).stream().map(AuditEntry::detail).toList();
        assertEquals(2, entries.size(), entries.toString());
        assertTrue(entries.get(0).startsWith("source started: volume vol1, buffer durable"), entries.get(0));
        assertEquals("source stopped: buffer synced and closed; conditions still open: none", entries.get(1));
        assertNull(volume(buffer).get("auditError").textValue(), "written: no error");

        Path log = volumeDir.resolve(AuditLog.DIR).resolve(AuditLog.LOG);
        long size = java.nio.file.Files.size(log);
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {0x55}), 120); // inside entry 1: the chain breaks
        }
        run(volumeDir);
        String error = volume(buffer).get("auditError").asText();
        assertTrue(error.contains("is not intact"), error);
        assertEquals(size, java.nio.file.Files.size(log), "a broken chain is not extended");
    }

    /** A source side that publishes once while running and once at its close. */
    private static void run(Path volumeDir) throws Exception {
        try (SourceSide side = SourceSide.open(volumeDir, "vol1", BUFFER)) {
            SourceStatusFiles files = new SourceStatusFiles(SourceStatusFiles.Stopped.LINKS_MARKED_STOPPED);
            side.publishStatus(files);
            files.publish(side, true); // as the housekeeping thread does, here on the test's thread
        }
    }

    private static JsonNode volume(Path buffer) throws Exception {
        return Json.mapper().valueToTree(StatusCommand.sourceReport(buffer)).get("volumes").get(0);
    }
}
