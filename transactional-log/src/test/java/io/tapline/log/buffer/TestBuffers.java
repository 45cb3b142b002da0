package io.tapline.log.buffer;

import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/** Shared fixtures of the buffer tests: a ticking clock, payloads, file helpers; {@link #eventually} for any test. */
public final class TestBuffers {
    static final String VOLUME = "vol1";
    static final Provenance WEDGE = new Provenance(Bus.WEDGE, "127.0.0.1:50000", "vol1", 7, 0, 1);

    private TestBuffers() {
    }

    /** A clock that advances 1 ms per reading, from a fixed start. */
    static final class TickingClock extends Clock {
        private long millis = 1_700_000_000_000L;

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public synchronized Instant instant() {
            return Instant.ofEpochMilli(millis++);
        }
    }

    static CaptureBuffer open(Path dir, BufferConfig config) throws IOException {
        return CaptureBuffer.open(dir, VOLUME, config, new TickingClock());
    }

    /** A payload whose bytes depend on the sequence, so a mixed-up record is noticed. */
    static byte[] payload(long sequence, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (sequence * 31 + i);
        }
        return b;
    }

    static CaptureRecord appendWrite(CaptureBuffer buffer, long offset, int length) throws IOException {
        long next = buffer.lastSequence() + 1;
        return buffer.append(RecordKind.WRITE, offset, length, 0, WEDGE, payload(next, length));
    }

    /** A WRITE of {@code data} at {@code offset} from the wedge, as a batch append takes it. */
    public static AppendRequest writeRequest(long offset, byte[] data) {
        return new AppendRequest() {
            @Override
            public RecordKind kind() {
                return RecordKind.WRITE;
            }

            @Override
            public long offsetBytes() {
                return offset;
            }

            @Override
            public long lengthBytes() {
                return data.length;
            }

            @Override
            public int flags() {
                return 0;
            }

            @Override
            public Provenance provenance() {
                return WEDGE;
            }

            @Override
            public byte[] payload() {
                return data;
            }
        };
    }

    static List<CaptureRecord> readAll(CaptureBuffer buffer, long from) throws Exception {
        List<CaptureRecord> records = new ArrayList<>();
        try (RecordReader reader = buffer.openReader(from)) {
            CaptureRecord r;
            while ((r = reader.next(0)) != null) {
                records.add(r);
            }
        }
        return records;
    }

    static List<Path> segments(Path dir) throws IOException {
        return SegmentNames.listSegments(dir);
    }

    static void flipByte(Path file, long offset) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[(int) offset] ^= 0x5A;
        Files.write(file, bytes);
    }

    static void copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    static void deleteDir(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    /**
     * Makes a write-once buffer's directory look as a power cut leaves it: its sequence floor
     * written in another boot (the page cache it relied on is gone). A damaged or missing floor
     * file is left as it is (it can never pass for this boot).
     */
    public static void simulateReboot(Path volumeDir) throws IOException {
        if (Files.exists(volumeDir.resolve(SequenceReservation.FILE))) {
            try {
                SequenceReservation.forgetBoot(volumeDir);
            } catch (BufferCorruptException e) {
                // Damaged: read as another boot's anyway.
            }
        }
    }

    /** Polls {@code condition} until it holds or the deadline passes. */
    public static boolean eventually(BooleanSupplier condition, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.onSpinWait();
        }
        return condition.getAsBoolean();
    }
}
