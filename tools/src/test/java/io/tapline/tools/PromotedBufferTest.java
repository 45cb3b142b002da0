package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The buffer of a promoted volume is reused only by its own generation: each state a demotion,
 * a crash or an older release could leave in {@code <volume>/primary/} is built, and the next
 * promotion's first record must be numbered after the promotion's sequence.
 */
class PromotedBufferTest {
    private static final BufferConfig CONFIG = BufferConfig.ofMaxBytes(1 << 20, 64L << 20);

    @TempDir
    Path volumeDir;

    @Test
    void aNewPromotionStartsItsBufferAfterThePromotionsSequence() throws Exception {
        assertNull(PromotedBuffer.prepare(volumeDir, "vol1", 2, 304));
        assertEquals(2, PromotedBuffer.readGeneration(buffer()));
        assertEquals(305, appendOne());
    }

    @Test
    void aRestartOfThePromotedNodeKeepsItsRecords() throws Exception {
        PromotedBuffer.prepare(volumeDir, "vol1", 2, 304);
        appendOne();
        assertNull(PromotedBuffer.prepare(volumeDir, "vol1", 2, 304), "the same generation reuses its buffer");
        assertEquals(306, appendOne());
        assertEquals(List.of(), endedBuffers());
    }

    @Test
    void aBufferOfAnEndedGenerationIsSetAsideNotReused() throws Exception {
        PromotedBuffer.prepare(volumeDir, "vol1", 2, 304);
        appendOne(); // 305: the ended generation's record, never shipped
        String line = PromotedBuffer.prepare(volumeDir, "vol1", 4, 316);
        assertNotNull(line);
        assertTrue(line.contains("generation 2"), line);
        assertEquals(317, appendOne(), "numbered after the promotion, never below the replicas");
        assertEquals(4, PromotedBuffer.readGeneration(buffer()));
        List<Path> ended = endedBuffers();
        assertEquals(1, ended.size(), ended.toString());
        assertTrue(ended.get(0).getFileName().toString().startsWith("ended-primary-2-"), ended.toString());
        try (CaptureBuffer old = CaptureBuffer.open(ended.get(0).resolve("vol1"), "vol1", CONFIG)) {
            assertEquals(305, old.lastSequence(), "the ended generation's records are kept");
        }
    }

    @Test
    void aBufferWithoutAGenerationFileIsJudgedByItsNumbering() throws Exception {
        // Written before the generation file existed: a stale one starts below the promotion ...
        CaptureBuffer.startAt(buffer().resolve("vol1"), "vol1", 302);
        assertNotNull(PromotedBuffer.prepare(volumeDir, "vol1", 4, 316));
        assertEquals(317, appendOne());
        assertTrue(endedBuffers().get(0).getFileName().toString().startsWith("ended-primary-unknown-"));
    }

    @Test
    void aCurrentBufferWithoutAGenerationFileIsReused() throws Exception {
        // ... and the promoted node's own buffer, from before the upgrade, starts after it.
        CaptureBuffer.startAt(buffer().resolve("vol1"), "vol1", 317);
        assertNull(PromotedBuffer.prepare(volumeDir, "vol1", 4, 316));
        assertEquals(4, PromotedBuffer.readGeneration(buffer()));
        assertEquals(317, appendOne());
        assertEquals(List.of(), endedBuffers());
    }

    @Test
    void aTornGenerationFileFallsBackToTheNumbering() throws Exception {
        PromotedBuffer.prepare(volumeDir, "vol1", 4, 316);
        Files.write(buffer().resolve(PromotedBuffer.GENERATION_FILE), new byte[0]); // cut before its bytes
        assertNull(PromotedBuffer.prepare(volumeDir, "vol1", 4, 316));
        assertEquals(4, PromotedBuffer.readGeneration(buffer()));
        assertEquals(317, appendOne());
    }

    private Path buffer() {
        return volumeDir.resolve(ReplicaExports.PRIMARY_BUFFER);
    }

    /** Appends one record to the promoted buffer and returns its sequence. */
    private long appendOne() throws Exception {
        try (CaptureBuffer b = CaptureBuffer.open(buffer().resolve("vol1"), "vol1", CONFIG)) {
            long seq = b.append(RecordKind.WRITE, 0, 4096, 0, Provenance.INTERNAL, new byte[4096]).sequence();
            b.sync();
            return seq;
        }
    }

    private List<Path> endedBuffers() throws Exception {
        try (Stream<Path> s = Files.list(volumeDir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("ended-primary-")).sorted().toList();
        }
    }
}
