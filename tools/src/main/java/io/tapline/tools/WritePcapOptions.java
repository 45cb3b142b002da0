package io.tapline.tools;

import io.tapline.snoop.capture.EvidenceRing;
import io.tapline.snoop.capture.PcapCapture;
import io.tapline.tools.cli.ByteSizeConverter;
import io.tapline.tools.cli.CliFailure;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code tapline snoop}'s evidence ring options ({@code --write-pcap DIR}, its file size and
 * count), their one-line checks, and the ring they start. A picocli mixin.
 */
final class WritePcapOptions {
    static final String DEFAULT_FILE_SIZE = "100M";
    static final int DEFAULT_FILES = 10;
    /** Frames waiting for the ring's disk before new ones are left out of it. */
    static final long QUEUE_BYTES = 64L << 20;
    private static final long MIN_FILE_BYTES = 4096;

    @Option(names = "--write-pcap", paramLabel = "DIR", description = "Live capture: also keep every captured frame in a"
            + " rotating ring of pcap files in DIR (evidence for auditors; see --write-pcap-size, --write-pcap-files).")
    Path dir;

    @Option(names = "--write-pcap-size", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Size of one --write-pcap file before the next is started (default: " + DEFAULT_FILE_SIZE + ").")
    Long fileBytes;

    @Option(names = "--write-pcap-files", paramLabel = "N", description = "--write-pcap files kept; the oldest is deleted"
            + " when a new one starts (default: " + DEFAULT_FILES + ").")
    Integer files;

    /** Refuses (exit 2, one line) what does not fit: with a capture file, or sizes without --write-pcap. */
    void check(boolean captureFile) {
        if (captureFile && (dir != null || fileBytes != null || files != null)) {
            throw new CliFailure("--write-pcap: only with --interface (the --pcap file is the evidence already)", 2);
        }
        if (dir == null && (fileBytes != null || files != null)) {
            throw new CliFailure((fileBytes != null ? "--write-pcap-size" : "--write-pcap-files")
                    + ": only with --write-pcap DIR", 2);
        }
        if (fileBytes != null && fileBytes < MIN_FILE_BYTES) {
            throw new CliFailure("--write-pcap-size: " + fileBytes + " (expected: at least " + MIN_FILE_BYTES + " bytes)", 2);
        }
        if (files != null && files < 1) {
            throw new CliFailure("--write-pcap-files: " + files + " (expected: at least 1)", 2);
        }
    }

    /** Starts the ring and taps {@code capture} into it, or returns null without --write-pcap. */
    EvidenceRing start(PcapCapture capture, int snaplenBytes) throws IOException {
        if (dir == null) {
            return null;
        }
        EvidenceRing ring = EvidenceRing.start(dir, fileBytes == null ? ByteSizeConverter.parse(DEFAULT_FILE_SIZE) : fileBytes,
                files == null ? DEFAULT_FILES : files, capture.liveLinkType(), snaplenBytes, QUEUE_BYTES);
        capture.tap(ring);
        return ring;
    }
}
