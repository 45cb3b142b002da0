package io.tapline.log.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BufferIdFileTest {
    @TempDir
    Path tmp;

    @Test
    void aBufferKeepsItsIdAcrossReopenAndARecreatedOneGetsAnother() throws Exception {
        Path dir = tmp.resolve("vol1");
        long first;
        try (CaptureBuffer b = CaptureBuffer.open(dir, "vol1", BufferConfig.DEFAULT)) {
            first = b.bufferId();
        }
        assertNotEquals(0, first);
        try (CaptureBuffer b = CaptureBuffer.open(dir, "vol1", BufferConfig.DEFAULT)) {
            assertEquals(first, b.bufferId(), "reopened: the same buffer");
        }
        io.tapline.log.DurableFiles.deleteTree(dir);
        try (CaptureBuffer b = CaptureBuffer.open(dir, "vol1", BufferConfig.DEFAULT)) {
            assertNotEquals(first, b.bufferId(), "recreated empty: another buffer's history");
        }
    }

    @Test
    void aBufferWithoutAnIdFileGetsOneOnOpen() throws Exception {
        Path dir = tmp.resolve("vol1");
        try (CaptureBuffer b = CaptureBuffer.open(dir, "vol1", BufferConfig.DEFAULT)) {
            b.sync();
        }
        Files.delete(dir.resolve(BufferIdFile.FILE)); // as a buffer made before buffers had an id
        try (CaptureBuffer b = CaptureBuffer.open(dir, "vol1", BufferConfig.DEFAULT)) {
            assertEquals(BufferIdFile.read(dir.resolve(BufferIdFile.FILE)).bufferId(), b.bufferId());
        }
    }

    @Test
    void everyFlippedByteIsRefusedNamingTheFile() throws Exception {
        Path file = tmp.resolve(BufferIdFile.FILE);
        BufferIdFile.readOrCreate(tmp, "vol1", 1);
        long size = Files.size(file);
        for (long offset = 0; offset < size; offset++) {
            TestBuffers.flipByte(file, offset);
            Exception e = assertThrows(java.io.IOException.class, () -> BufferIdFile.read(file), "offset " + offset);
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            TestBuffers.flipByte(file, offset);
        }
        assertEquals(BufferIdFile.read(file).bufferId(), BufferIdFile.readOrCreate(tmp, "vol1", 2), "kept");
    }

    @Test
    void anUnknownVersionIsRefusedNamingTheSupportedRange() throws Exception {
        Path file = tmp.resolve(BufferIdFile.FILE);
        ByteBuffer bytes = new BufferIdFile(42, 1, "vol1").encode();
        bytes.putShort(4, (short) 2);
        Files.write(file, java.util.Arrays.copyOf(bytes.array(), bytes.limit()));
        UnsupportedFormatVersionException e = assertThrows(UnsupportedFormatVersionException.class,
                () -> BufferIdFile.read(file));
        assertTrue(e.getMessage().contains("formatVersion: 2 (expected: 1..1)"), e.getMessage());
    }
}
