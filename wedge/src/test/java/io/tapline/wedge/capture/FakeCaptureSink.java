package io.tapline.wedge.capture;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** In-memory {@link CaptureSink} for tests: keeps every record; can be made full or failing. Thread-safe. */
public final class FakeCaptureSink implements CaptureSink {
    private final List<CaptureRecord> records = new ArrayList<>();
    private long nextSequence = 1;
    private long syncs;
    private long syncedUpTo;
    private boolean full;
    private boolean failing;
    private int failingSyncs;
    private String failure = "";

    @Override
    public synchronized CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags,
            Provenance provenance, byte[] payload) throws IOException {
        if (failing) {
            throw new IOException("injected append failure");
        }
        if (full) {
            return null;
        }
        CaptureRecord r = CaptureRecord.seal("test-volume", nextSequence++, System.nanoTime(), kind, offsetBytes,
                lengthBytes, flags, provenance, payload == null ? null : payload.clone()); // a sink keeps no caller's array
        records.add(r);
        return r;
    }

    @Override
    public synchronized void sync() throws IOException {
        if (failingSyncs > 0) {
            failingSyncs--;
            throw new IOException("injected fsync failure (EIO)");
        }
        syncs++;
        syncedUpTo = nextSequence - 1;
    }

    public synchronized List<CaptureRecord> records() {
        return List.copyOf(records);
    }

    public synchronized long syncs() {
        return syncs;
    }

    public synchronized long syncedUpTo() {
        return syncedUpTo;
    }

    public synchronized void setFull(boolean full) {
        this.full = full;
    }

    /** The next {@code count} syncs throw; later ones succeed, as a retried fsync does on Linux. */
    public synchronized void failNextSyncs(int count) {
        this.failingSyncs = count;
    }

    /** What the sequencer reported through {@code fail}, or empty. */
    public synchronized String failure() {
        return failure;
    }

    @Override
    public synchronized void fail(String reason) {
        if (failure.isEmpty()) {
            failure = reason;
        }
    }

    public synchronized void setFailing(boolean failing) {
        this.failing = failing;
    }

    /** Replays the data-changing records, in sequence order, onto a zeroed image of {@code sizeBytes}. */
    public synchronized byte[] rebuildImage(int sizeBytes) {
        byte[] image = new byte[sizeBytes];
        long expected = 1;
        for (CaptureRecord r : records) {
            if (r.sequence() != expected++) {
                throw new AssertionError("sequence gap at " + r);
            }
            r.verify();
            switch (r.kind()) {
                case WRITE -> System.arraycopy(r.payload(), 0, image, (int) r.offsetBytes(), r.payload().length);
                case WRITE_ZEROES, DISCARD -> java.util.Arrays.fill(image, (int) r.offsetBytes(),
                        (int) (r.offsetBytes() + r.lengthBytes()), (byte) 0);
                default -> {
                    // FLUSH, MARK and GAP change no bytes.
                }
            }
        }
        return image;
    }
}
