package io.tapline.snoop;

import io.tapline.log.CaptureRecord;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import io.tapline.snoop.capture.PcapCapture;
import io.tapline.snoop.volume.VolumeNames;
import io.tapline.snoop.volume.VolumeRouter;
import java.io.IOException;
import java.io.Reader;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;

/**
 * Test helpers: the sample captures of the test resources ({@code src/test/resources/samples}, made by
 * its {@code make-samples.sh}), and decoding a capture file into a buffer directory.
 */
final class Samples {
    /** The tgtd portal port of the iSCSI samples ({@code ISCSI_PORT} of make-samples.sh). */
    static final int ISCSI_PORT = 13260;
    /** The nbdkit port of nbd_sample_nbdkit.pcap ({@code NBDKIT_PORT} of make-samples.sh). */
    static final int NBDKIT_PORT = 13809;
    /** The qemu-nbd port of nbd_sample_qemunbd.pcap ({@code QEMUNBD_PORT} of make-samples.sh). */
    static final int QEMUNBD_PORT = 13810;
    /**
     * The decoder settings of the samples: the defaults, with the samples' server ports in place of
     * 3260 and 10809 (they matter only for a connection joined mid-stream).
     */
    static final SnoopConfig CONFIG = new SnoopConfig(Set.of(ISCSI_PORT), Set.of(NBDKIT_PORT, QEMUNBD_PORT),
            SnoopConfig.DEFAULT.blockSizeBytes(), SnoopConfig.DEFAULT.maxPendingBytes());

    private Samples() {
    }

    /** The {@code samples} folder of the test classpath (a copy of {@code src/test/resources/samples}). */
    static Path dir() {
        URL marker = Samples.class.getResource("/samples/expected.properties");
        if (marker == null) {
            throw new IllegalStateException("sample captures: /samples/expected.properties on the test classpath"
                    + " (expected: present; src/test/resources/samples/make-samples.sh makes it)");
        }
        try {
            return Path.of(marker.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("sample captures: " + marker + " (expected: a file URL)", e);
        }
    }

    static Path file(String name) {
        Path p = dir().resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("sample capture: " + p + " (expected: a file; see samples/README.txt)");
        }
        return p;
    }

    /** One value of the samples' {@code expected.properties}, written by make-samples.sh from what it wrote. */
    static String expected(String key) throws IOException {
        Properties props = new Properties();
        try (Reader in = Files.newBufferedReader(file("expected.properties"))) {
            props.load(in);
        }
        String value = props.getProperty(key);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("expected.properties: " + key + " (expected: a value)");
        }
        return value.trim();
    }

    /** Decodes {@code pcap} with {@link #CONFIG} into buffers under {@code bufferDir}; closes the router on return. */
    static Result decode(Path pcap, Path bufferDir) throws IOException {
        VolumeRouter router = new VolumeRouter(new VolumeRouter.Settings(bufferDir, BufferConfig.DEFAULT, List.of(),
                "test", -1, new VolumeNames(List.of())));
        router.assumeBlankTargets(true); // the samples were captured from blank disks
        SnoopPipeline pipeline = new SnoopPipeline(router, CONFIG);
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
