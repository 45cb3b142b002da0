package io.tapline.snoop.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.source.MarkSpool;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.RecordReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tapline mark} on a snoop: the volume's source side runs the mark spool, and the router's
 * {@code SourceSink} stores a MARK after the completions delivered before it, durable before its
 * completion carries the sequence; once the router closed it refuses in one line. (The spool's
 * file exchange end to end: tools' {@code SnoopMarkIT}.)
 */
class VolumeRouterMarkTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(30)
    void aMarkIsStoredAfterTheWritesBeforeItAndCompletesWithItsDurableSequence() throws Exception {
        VolumeRouter router = new VolumeRouter(new VolumeRouter.Settings(dir, BufferConfig.DEFAULT, List.of(), "src",
                -1, new VolumeNames(List.of("nbd:*=vol1"))));
        router.assumeBlankTargets(true);
        VolumeKey key = VolumeKey.nbd("127.0.0.1:10809", "");
        router.completed(key, RecordKind.WRITE, 0, 512, 0, Provenance.INTERNAL, new byte[512]);
        router.completed(key, RecordKind.WRITE, 512, 512, 0, Provenance.INTERNAL, new byte[512]);
        assertTrue(Files.isDirectory(dir.resolve("vol1").resolve(MarkSpool.DIR)), "tapline mark's spool runs");
        CompletableFuture<String> answer = new CompletableFuture<>();
        router.sides().get(0).sink().submit(RecordKind.MARK, 0, 0, 0, Provenance.INTERNAL,
                "before-upgrade".getBytes(StandardCharsets.UTF_8), (seq, failure) -> answer.complete(seq + " " + failure));
        assertEquals("3 null", answer.get(10, TimeUnit.SECONDS), "the sequence after the two writes, no failure");
        assertTrue(router.buffer("vol1").durableSequence() >= 3, "durable once answered");
        router.completed(key, RecordKind.FLUSH, 0, 0, 0, Provenance.INTERNAL, null);
        try (RecordReader reader = router.buffer("vol1").openReader(1)) {
            assertEquals(RecordKind.WRITE, reader.next(1000).kind());
            assertEquals(RecordKind.WRITE, reader.next(1000).kind());
            CaptureRecord mark = reader.next(1000);
            assertEquals(RecordKind.MARK, mark.kind());
            assertEquals(3, mark.sequence());
            assertEquals("before-upgrade", new String(mark.payload(), StandardCharsets.UTF_8));
            assertEquals(RecordKind.FLUSH, reader.next(1000).kind());
        }
        router.close();
        CompletableFuture<String> late = new CompletableFuture<>();
        router.sides().get(0).sink().submit(RecordKind.MARK, 0, 0, 0, Provenance.INTERNAL, new byte[] {'x'},
                (seq, failure) -> late.complete(seq + " " + failure));
        assertEquals("0 the snoop is stopping", late.get(10, TimeUnit.SECONDS));
    }
}
