package io.tapline.log.crash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.Bus;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The write-once buffer ({@link BufferConfig#writeOnce}): appends across rolls, host FLUSHes (which
 * force no record), a remote acknowledging (retention deletes unforced segments), clean closes and
 * reopens. Oracle, for every state a power cut can leave: the buffer opens; the next sequence it
 * hands out is past every sequence appended before the cut (a replica may have applied any of
 * them); every record it returns is one that was appended, with its bytes; a cut that caught
 * appends since the last clean close reopens unclean with every chunk tracked (the resync that
 * heals the replica); after a clean close every record not acknowledged is still there.
 */
final class WriteOnceBufferWorkload implements CrashWorkload {
    static final String VOLUME = "vol1";
    static final String REMOTE = "r1";
    private static final Provenance WEDGE = new Provenance(Bus.WEDGE, "127.0.0.1:50000", VOLUME, 7, 0, 1);
    static final BufferConfig CONFIG = BufferConfig.ofMaxBytes(8192, 1 << 20).withWriteOnce(true);

    private final int sessions;
    private final int appendsPerSession;
    private final Map<Long, byte[]> payloads = new HashMap<>();
    private final Ledger<Long> appended = new Ledger<>(0L);
    /** Records every state must still hold: those a clean close forced. */
    private final Ledger<Long> closedWith = new Ledger<>(0L);
    private final Ledger<Long> acknowledged = new Ledger<>(0L);
    private final Ledger<Boolean> dirty = new Ledger<>(false);
    private final Ledger<Boolean> closing = new Ledger<>(false);

    WriteOnceBufferWorkload(int sessions, int appendsPerSession) {
        this.sessions = sessions;
        this.appendsPerSession = appendsPerSession;
    }

    @Override
    public String kind() {
        return "buffer segments, write-once";
    }

    @Override
    public void run(Path root, FileOpTrace trace) throws Exception {
        Path dir = root.resolve("buffer");
        long acked = 0;
        for (int s = 0; s < sessions; s++) {
            CaptureBuffer buffer = CaptureBuffer.open(dir, VOLUME, CONFIG);
            buffer.registerRemote(REMOTE);
            acked = Math.max(acked, buffer.acknowledged(REMOTE));
            for (int i = 0; i < appendsPerSession; i++) {
                long seq = buffer.lastSequence() + 1;
                byte[] payload = Payloads.of(seq, Payloads.length(seq));
                payloads.put(seq, payload);
                buffer.append(RecordKind.WRITE, seq * 4096, payload.length, 0, WEDGE, payload);
                dirty.note(trace.size(), true);
                appended.note(trace.size(), seq);
                if (i % 3 == 2) {
                    buffer.sync();
                }
                if (i % 8 == 7 && buffer.lastSequence() - 3 > acked) {
                    acked = buffer.lastSequence() - 3; // a replica applies records that are not durable here
                    buffer.acknowledge(REMOTE, acked);
                    acknowledged.note(trace.size(), acked);
                }
            }
            closing.note(trace.size(), true);
            buffer.close();
            closing.note(trace.size(), false);
            closedWith.note(trace.size(), buffer.lastSequence());
            dirty.note(trace.size(), false);
        }
    }

    @Override
    public String expectationAt(int opsDone) {
        return appended.at(opsDone) + "/" + closedWith.at(opsDone) + "/" + acknowledged.at(opsDone) + "/"
                + dirty.at(opsDone) + "/" + closing.at(opsDone);
    }

    @Override
    public void check(Path dir, int opsDone) throws Exception {
        long before = appended.at(opsDone);
        Path bufferDir = dir.resolve("buffer");
        if (before == 0 && !Files.exists(bufferDir)) {
            return; // nothing appended; a fresh buffer is a correct start
        }
        io.tapline.log.buffer.TestBuffers.simulateReboot(bufferDir); // a power cut: the page cache is gone
        try (CaptureBuffer buffer = CaptureBuffer.open(bufferDir, VOLUME, CONFIG)) {
            assertTrue(buffer.lastSequence() >= before, "next sequence " + (buffer.lastSequence() + 1)
                    + " reuses one appended before the cut (" + before + ")");
            boolean unclean = dirty.at(opsDone) && !closing.at(opsDone);
            if (unclean) {
                assertTrue(buffer.uncleanShutdown(), "appends since the last clean close, but the reopen says clean");
            }
            if (buffer.uncleanShutdown()) {
                assertEquals(-1, buffer.status().trackedChunks(), "an unclean reopen tracks every chunk");
            } else {
                Long registered = buffer.status().acknowledged().get(REMOTE);
                long ack = registered == null ? 0 : registered;
                assertTrue(ack >= Math.min(acknowledged.at(opsDone), closedWith.at(opsDone)), "cursor went back: " + ack);
                assertTrue(registered == null || buffer.firstSequence() <= ack + 1, "after a clean close, first"
                        + " retained " + buffer.firstSequence() + " > cursor + 1 (" + ack + ")");
                assertTrue(buffer.lastSequence() >= closedWith.at(opsDone), "records of a clean close lost");
            }
            BufferSegmentsWorkload.assertRecordsAsAppended(buffer, payloads);
        }
    }
}
