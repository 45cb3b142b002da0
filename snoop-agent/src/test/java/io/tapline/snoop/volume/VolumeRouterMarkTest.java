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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tapline mark} on a snoop: a request file in the volume's {@code requests} directory
 * becomes a MARK ordered after the completions delivered before it, answered with its durable
 * sequence, as on the wedge.
 */
class VolumeRouterMarkTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(30)
    void aMarkRequestIsStoredAfterTheWritesBeforeItAndAnsweredWithItsSequence() throws Exception {
        VolumeRouter router = new VolumeRouter(new VolumeRouter.Settings(dir, BufferConfig.DEFAULT, List.of(), "src",
                -1, new VolumeNames(List.of("nbd:*=vol1"))));
        VolumeKey key = VolumeKey.nbd("127.0.0.1:10809", "");
        router.completed(key, RecordKind.WRITE, 0, 512, 0, Provenance.INTERNAL, new byte[512]);
        router.completed(key, RecordKind.WRITE, 512, 512, 0, Provenance.INTERNAL, new byte[512]);
        Path requests = dir.resolve("vol1").resolve(MarkSpool.DIR);
        Files.writeString(requests.resolve("m1.mark.tmp"), "before-upgrade");
        Files.move(requests.resolve("m1.mark.tmp"), requests.resolve("m1.mark"));
        Path done = requests.resolve("m1.done");
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!Files.exists(done) && System.nanoTime() < deadline) {
            Thread.sleep(20); // the spool polls every 100 ms
        }
        assertTrue(Files.exists(done), "answered");
        assertEquals("3", Files.readString(done).strip());
        assertTrue(!Files.exists(requests.resolve("m1.mark")), "request deleted");
        router.completed(key, RecordKind.FLUSH, 0, 0, 0, Provenance.INTERNAL, null);
        assertTrue(router.buffer("vol1").durableSequence() >= 3, "the mark is durable once answered");
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
    }
}
