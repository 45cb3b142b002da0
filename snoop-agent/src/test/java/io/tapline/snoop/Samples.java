package io.tapline.snoop;

import io.tapline.log.CaptureRecord;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import io.tapline.snoop.capture.PcapCapture;
import io.tapline.snoop.volume.VolumeNames;
import io.tapline.snoop.volume.VolumeRouter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Test helpers: the shared sample captures, and decoding a capture file into a buffer directory. */
final class Samples {
    private Samples() {
    }

    /** {@code ../shared/samples} beside the repository (the module runs from {@code snoop-agent/}). */
    static Path dir() {
        Path d = Path.of(System.getProperty("user.dir")).resolve("../../shared/samples").normalize();
        if (!Files.isDirectory(d)) {
            throw new IllegalStateException("sample captures: " + d
                    + " (expected: the shared/ directory beside the repository, with samples/ in it)");
        }
        return d;
    }

    static Path file(String name) {
        Path p = dir().resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("sample capture: " + p + " (expected: a file; see samples/README.txt)");
        }
        return p;
    }

    /** Decodes {@code pcap} into buffers under {@code bufferDir}; the router is closed on return. */
    static Result decode(Path pcap, Path bufferDir) throws IOException {
        VolumeRouter router = new VolumeRouter(new VolumeRouter.Settings(bufferDir, BufferConfig.DEFAULT, List.of(),
                "test", -1, new VolumeNames(List.of())));
        SnoopPipeline pipeline = new SnoopPipeline(router, SnoopConfig.DEFAULT);
        try (PcapCapture capture = PcapCapture.openFile(pcap)) {
            capture.run(pipeline, router, b -> { });
            return new Result(router.stats(), capture.counters().packets());
        } finally {
            router.close();
        }
    }

    record Result(java.util.Map<String, io.tapline.snoop.volume.VolumeStats> volumes, long packets) {
    }

    /** Every record of a volume's buffer, in sequence order. */
    static List<CaptureRecord> records(Path bufferDir, String volume) throws IOException, InterruptedException {
        List<CaptureRecord> out = new ArrayList<>();
        try (CaptureBuffer buffer = CaptureBuffer.open(bufferDir.resolve(volume), volume, BufferConfig.DEFAULT);
                RecordReader reader = buffer.openReader(1)) {
            for (CaptureRecord r = reader.next(0); r != null; r = reader.next(0)) {
                out.add(r);
            }
        }
        return out;
    }
}
