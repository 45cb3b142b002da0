package io.tapline.snoop.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.RecordReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ranges no disk has, from a client's malformed request on the tapped wire: a refused TRIM at
 * offset -1 (2^64 - 1 unsigned) is nothing to resync and stops nothing; a command the target
 * claims to have done outside the disk makes the whole volume unknown; a GAP that runs past the
 * disk's end is cut at it. The router goes on capturing after each.
 */
class VolumeRouterBadRangeTest {
    @TempDir
    Path dir;

    @Test
    void rangesOutsideTheDiskNeverStopCaptureAndNeverClaimTooLittle() throws Exception {
        VolumeRouter router = new VolumeRouter(new VolumeRouter.Settings(dir, BufferConfig.DEFAULT, List.of(), "src",
                -1, new VolumeNames(List.of("nbd:*=vol1"))));
        router.assumeBlankTargets(true); // the disk's earlier content is another test's
        VolumeKey key = VolumeKey.nbd("127.0.0.1:10809", "");
        router.geometry(key, 4 << 20, 512);
        router.gap(key, -1, 1, "NBD write not confirmed (error reply)"); // refused: ignored
        router.gap(key, 4 << 20, 4096, "NBD write not confirmed (error reply)"); // past the end: ignored
        router.gap(key, (4 << 20) - 4096, 8192, "NBD write not confirmed (no reply)"); // cut at the end
        router.completed(key, RecordKind.DISCARD, -1, 1, 0, Provenance.INTERNAL, null); // "done": disk unknown
        router.completed(key, RecordKind.WRITE, 0, 512, 0, Provenance.INTERNAL, new byte[512]); // capture goes on
        List<String> records = new ArrayList<>();
        try (RecordReader reader = router.buffer("vol1").openReader(1)) {
            for (CaptureRecord r; (r = reader.next(200)) != null; ) {
                records.add(r.kind() + " " + r.offsetBytes() + "+" + r.lengthBytes());
            }
        }
        router.close();
        assertEquals(List.of("GAP " + ((4 << 20) - 4096) + "+4096", "GAP 0+" + (4 << 20), "WRITE 0+512"), records);
    }

    /**
     * A passive tap cannot know what a disk held before it first saw it: a volume new to the buffer
     * starts with a whole-volume GAP unless the operator says the targets were blank; a volume the
     * buffer knows already gets another only from a live tap (it did not see the writes made while
     * it was stopped), not from an import that goes on in its buffer.
     */
    @Test
    void aVolumeNewToTheBufferStartsUnknownUnlessTheTargetsWereBlank() throws Exception {
        VolumeKey key = VolumeKey.nbd("127.0.0.1:10809", "");
        List<String> first = records(dir.resolve("a"), false, key);
        assertEquals(List.of("GAP 0+" + Long.MAX_VALUE, "WRITE 0+512"), first);
        assertEquals(List.of("WRITE 0+512"), records(dir.resolve("b"), true, false, key), "--blank-targets");
        assertEquals(List.of("WRITE 0+512", "WRITE 0+512"), records(dir.resolve("b"), true, false, key),
                "an import goes on in its buffer");
        assertEquals(List.of("WRITE 0+512", "WRITE 0+512", "GAP 0+" + Long.MAX_VALUE, "WRITE 0+512"),
                records(dir.resolve("b"), true, true, key), "a live tap restarted did not see the writes meanwhile");
    }

    private static List<String> records(Path buffer, boolean blank, VolumeKey key) throws Exception {
        return records(buffer, blank, false, key);
    }

    private static List<String> records(Path buffer, boolean blank, boolean live, VolumeKey key) throws Exception {
        VolumeRouter router = new VolumeRouter(new VolumeRouter.Settings(buffer, BufferConfig.DEFAULT, List.of(), "src",
                -1, new VolumeNames(List.of("nbd:*=vol1"))));
        router.assumeBlankTargets(blank);
        router.live(live);
        router.completed(key, RecordKind.WRITE, 0, 512, 0, Provenance.INTERNAL, new byte[512]);
        List<String> out = new ArrayList<>();
        try (RecordReader reader = router.buffer("vol1").openReader(1)) {
            for (CaptureRecord r; (r = reader.next(200)) != null; ) {
                out.add(r.kind() + " " + r.offsetBytes() + "+" + r.lengthBytes());
            }
        }
        router.close();
        return out;
    }
}
