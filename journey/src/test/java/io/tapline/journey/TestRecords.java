package io.tapline.journey;

import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Sealed records for tests. */
final class TestRecords {
    static final Provenance WEDGE = new Provenance(Bus.WEDGE, "127.0.0.1:50000", "vol1", 7, 0, 1);

    private TestRecords() {
    }

    static CaptureRecord write(String volume, long seq, long offset, byte[] payload) {
        return CaptureRecord.seal(volume, seq, 1_000L * seq, RecordKind.WRITE, offset, payload.length, 0, WEDGE,
                payload);
    }

    /** {@code count} WRITEs of {@code size} bytes from {@code firstSeq}; random or repetitive payloads. */
    static List<CaptureRecord> writes(String volume, long firstSeq, int count, int size, boolean compressible) {
        Random random = new Random(firstSeq * 31 + count);
        List<CaptureRecord> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] payload = new byte[size];
            if (compressible) {
                java.util.Arrays.fill(payload, (byte) ('a' + i % 26));
            } else {
                random.nextBytes(payload);
            }
            out.add(write(volume, firstSeq + i, (long) i * size, payload));
        }
        return out;
    }
}
