package io.tapline.log.buffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordCodec;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SegmentExport}: a segment header, then the records as RecordCodec encodes them; all or nothing. */
class SegmentExportTest {
    @TempDir
    Path dir;

    private static CaptureRecord record(long seq) {
        byte[] data = new byte[512];
        java.util.Arrays.fill(data, (byte) seq);
        return CaptureRecord.seal("v", seq, seq, RecordKind.WRITE, seq * 512, 512, 0, Provenance.INTERNAL, data);
    }

    @Test
    void committedExportIsAHeaderThenEachRecordEncoded() throws IOException {
        Path out = dir.resolve("v.seg");
        try (SegmentExport e = SegmentExport.create(out, 7, "v")) {
            for (long s = 7; s <= 9; s++) {
                e.append(record(s));
            }
            e.commit();
        }
        assertFalse(Files.exists(dir.resolve("v.seg.tmp")));
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.READ)) {
            SegmentHeader h = SegmentHeader.read(ch, out);
            assertEquals(new SegmentHeader(7, "v"), h);
            ByteBuffer rest = ByteBuffer.wrap(Files.readAllBytes(out));
            rest.position(h.sizeBytes());
            for (long s = 7; s <= 9; s++) {
                CaptureRecord r = RecordCodec.decode(rest);
                assertEquals(s, r.sequence());
                assertArrayEquals(record(s).payload(), r.payload());
            }
            assertFalse(rest.hasRemaining());
        }
    }

    @Test
    void aSequenceOutOfOrderIsRefusedAndNothingIsWritten() throws IOException {
        Path out = dir.resolve("v.seg");
        try (SegmentExport e = SegmentExport.create(out, 1, "v")) {
            e.append(record(1));
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> e.append(record(3)));
            assertEquals("sequence: 3 (expected: 2, dense)", x.getMessage());
        }
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(dir.resolve("v.seg.tmp")));
    }

    @Test
    void anUncommittedExportLeavesTheOldFile() throws IOException {
        Path out = dir.resolve("v.seg");
        Files.writeString(out, "old");
        try (SegmentExport e = SegmentExport.create(out, 1, "v")) {
            e.append(record(1));
        }
        assertEquals("old", Files.readString(out));
        assertTrue(Files.list(dir).count() == 1);
    }
}
