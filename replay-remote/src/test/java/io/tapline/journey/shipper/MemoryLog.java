package io.tapline.journey.shipper;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.RecordReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An in-memory stand-in for the capture buffer's reader side: dense records from 1, per-remote
 * cursors, readers that wait for the writer. Thread-safe (one monitor).
 */
final class MemoryLog implements RecordSource {
    private final String volumeId;
    private final List<CaptureRecord> records = new ArrayList<>();
    private final Map<String, Long> cursors = new HashMap<>();

    MemoryLog(String volumeId) {
        this.volumeId = volumeId;
    }

    synchronized CaptureRecord append(RecordKind kind, long offset, long length, int flags, byte[] payload) {
        CaptureRecord r = CaptureRecord.seal(volumeId, records.size() + 1L, System.nanoTime(), kind, offset, length,
                flags, Provenance.INTERNAL, payload);
        records.add(r);
        notifyAll();
        return r;
    }

    /** Forgets the cursor of {@code remoteId}, as a buffer restored from an older copy would. */
    synchronized void resetCursor(String remoteId) {
        cursors.put(remoteId, 0L);
    }

    @Override
    public synchronized void registerRemote(String remoteId) {
        cursors.putIfAbsent(remoteId, 0L);
    }

    @Override
    public synchronized long acknowledged(String remoteId) {
        return cursors.getOrDefault(remoteId, 0L);
    }

    @Override
    public synchronized void acknowledge(String remoteId, long sequence) {
        cursors.merge(remoteId, sequence, Math::max);
    }

    @Override
    public synchronized long lastSequence() {
        return records.size();
    }

    @Override
    public synchronized long firstSequence() {
        return 1;
    }

    @Override
    public synchronized void rewind(String remoteId, long sequence) {
        cursors.put(remoteId, Math.min(sequence, cursors.getOrDefault(remoteId, 0L)));
    }

    @Override
    public void makeDurable(long sequence) {
        // Memory is as durable as this fake gets.
    }

    @Override
    public RecordReader openReader(long fromSequence) {
        return new RecordReader() {
            private long position = Math.max(1, fromSequence);

            @Override
            public CaptureRecord next(long timeoutMillis) throws InterruptedException {
                long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
                synchronized (MemoryLog.this) {
                    while (records.size() < position) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            return null;
                        }
                        MemoryLog.this.wait(Math.max(1, left / 1_000_000L));
                    }
                    return records.get((int) (position++ - 1));
                }
            }

            @Override
            public long position() {
                return position;
            }

            @Override
            public void close() {
                position = Long.MAX_VALUE;
            }
        };
    }
}
