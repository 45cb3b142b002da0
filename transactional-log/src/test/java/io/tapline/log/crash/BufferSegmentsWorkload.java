package io.tapline.log.crash;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Capture-buffer segments: appends of varied sizes across segment rolls, group syncs (a host
 * FLUSH), a remote acknowledging (so retention deletes segments), a jump of the numbering past a
 * replica's history ({@link CaptureBuffer#numberPast}), a clean close and a reopen.
 * Oracle: the buffer opens; every record synced before the cut is there with its bytes; every
 * record it returns is one that was appended; the remote's cursor never goes back; records the
 * remote has not acknowledged are retained; appends since the last clean state make the reopen
 * report an unclean shutdown (so the wedge resyncs what the primary may hold).
 */
final class BufferSegmentsWorkload implements CrashWorkload {
    static final String VOLUME = "vol1";
    static final String REMOTE = "r1";
    private static final Provenance WEDGE = new Provenance(Bus.WEDGE, "127.0.0.1:50000", VOLUME, 7, 0, 1);
    /** Buffered appends only. */
    static final BufferConfig BUFFERED = BufferConfig.ofMaxBytes(8192, 1 << 20).withDirectAppendMinBytes(Long.MAX_VALUE);
    /** Records of 1 KiB and more appended with O_DIRECT (padded blocks, mixed with buffered small ones). */
    static final BufferConfig DIRECT = BufferConfig.ofMaxBytes(8192, 1 << 20).withDirectAppendMinBytes(1024);

    private final BufferConfig config;

    private final int sessions;
    private final int appendsPerSession;
    private final Map<Long, byte[]> payloads = new HashMap<>();
    private final Ledger<Long> synced = new Ledger<>(0L);
    private final Ledger<Long> acknowledged = new Ledger<>(0L);
    /** Cuts from which a reopen must report an unclean shutdown (records appended since the last clean close). */
    private final Ledger<Boolean> dirty = new Ledger<>(false);
    /** Cuts inside close(): its clean-shutdown marker is written only after every record was forced. */
    private final Ledger<Boolean> closing = new Ledger<>(false);

    BufferSegmentsWorkload(BufferConfig config, int sessions, int appendsPerSession) {
        this.config = config;
        this.sessions = sessions;
        this.appendsPerSession = appendsPerSession;
    }

    @Override
    public String kind() {
        return config.directAppendMinBytes() == Long.MAX_VALUE ? "buffer segments"
                : "buffer segments, direct appends from " + config.directAppendMinBytes() + " bytes";
    }

    @Override
    public void run(Path root, FileOpTrace trace) throws Exception {
        Path dir = root.resolve("buffer");
        long acked = 0;
        for (int s = 0; s < sessions; s++) {
            CaptureBuffer buffer = CaptureBuffer.open(dir, VOLUME, config);
            buffer.registerRemote(REMOTE);
            for (int i = 0; i < appendsPerSession; i++) {
                if (s == 1 && i == appendsPerSession / 2) {
                    // A replica ahead of the buffer: the numbering jumps past it (a forced GAP opens the hole).
                    buffer.numberPast(buffer.lastSequence() + 50, "a replica follows another history");
                    dirty.note(trace.size(), true);
                    synced.note(trace.size(), buffer.durableSequence());
                }
                long seq = buffer.lastSequence() + 1;
                byte[] payload = Payloads.of(seq, Payloads.length(seq));
                payloads.put(seq, payload);
                buffer.append(RecordKind.WRITE, seq * 4096, payload.length, 0, WEDGE, payload);
                dirty.note(trace.size(), true);
                if (i % 3 == 2) {
                    buffer.sync();
                    synced.note(trace.size(), buffer.durableSequence());
                }
                if (i % 8 == 7 && buffer.durableSequence() - 3 > acked) {
                    acked = buffer.durableSequence() - 3;
                    buffer.acknowledge(REMOTE, acked);
                    acknowledged.note(trace.size(), acked);
                }
            }
            closing.note(trace.size(), true);
            buffer.close();
            closing.note(trace.size(), false);
            synced.note(trace.size(), buffer.lastSequence());
            dirty.note(trace.size(), false);
        }
    }

    @Override
    public String expectationAt(int opsDone) {
        return synced.at(opsDone) + "/" + acknowledged.at(opsDone) + "/" + dirty.at(opsDone) + "/"
                + closing.at(opsDone);
    }

    @Override
    public void check(Path dir, int opsDone) throws Exception {
        long mustHave = synced.at(opsDone);
        long ack = acknowledged.at(opsDone);
        Path bufferDir = dir.resolve("buffer");
        if (mustHave == 0 && !Files.exists(bufferDir)) {
            return; // nothing was acknowledged; a fresh buffer is a correct start
        }
        try (CaptureBuffer buffer = CaptureBuffer.open(bufferDir, VOLUME, config)) {
            assertTrue(buffer.lastSequence() >= mustHave,
                    "lastSequence " + buffer.lastSequence() + " < synced " + mustHave);
            Long registered = buffer.status().acknowledged().get(REMOTE);
            long recoveredAck = registered == null ? 0 : registered;
            assertTrue(recoveredAck >= ack, "cursor " + recoveredAck + " < acknowledged " + ack);
            assertTrue(registered == null || buffer.firstSequence() <= recoveredAck + 1,
                    "first retained " + buffer.firstSequence() + " > cursor + 1 (" + recoveredAck + ")");
            if (dirty.at(opsDone) && !closing.at(opsDone)) {
                assertTrue(buffer.uncleanShutdown(), "appends since the last clean close, but the reopen says clean");
            }
            assertRecordsAsAppended(buffer, payloads);
        }
    }

    /**
     * Every retained record reads back in order up to the last sequence, each one that was appended
     * (at offset {@code seq * 4096}, with its payload).
     */
    static void assertRecordsAsAppended(CaptureBuffer buffer, Map<Long, byte[]> payloads) throws Exception {
        long expect = buffer.firstSequence();
        try (RecordReader reader = buffer.openReader(buffer.firstSequence())) {
            CaptureRecord r;
            while ((r = reader.next(0)) != null) {
                if (r.recordsLostBefore() && r.sequence() > expect && !payloads.containsKey(expect)) {
                    expect = r.sequence() + 1; // the hole of a jump past a replica's history, opened by its GAP
                    continue;
                }
                assertEquals(expect, r.sequence(), "sequence");
                if (r.recordsLostBefore() && r.sequence() == buffer.firstSequence()) {
                    expect++; // a write-once buffer reopened after a power cut starts with the GAP that says so
                    continue;
                }
                assertArrayEquals(payloads.get(r.sequence()), r.payload(), "payload of seq " + r.sequence());
                assertEquals(r.sequence() * 4096, r.offsetBytes(), "offset of seq " + r.sequence());
                expect++;
            }
        }
        assertEquals(buffer.lastSequence() + 1, expect, "records readable up to lastSequence");
    }
}
