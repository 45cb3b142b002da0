package io.tapline.log.crash;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.Bus;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Remote cursor files: two remotes (the second registered later) acknowledging in small steps,
 * so each acknowledgement replaces a cursor file and retention deletes the segments both have
 * passed. Oracle: the buffer opens; each registered remote's cursor is at least the last
 * acknowledgement that returned before the cut and at most the newest one ever made; no record
 * a remote has not acknowledged was deleted.
 */
final class CursorFilesWorkload implements CrashWorkload {
    private static final String VOLUME = "vol1";
    private static final Provenance WEDGE = new Provenance(Bus.WEDGE, "127.0.0.1:50000", VOLUME, 7, 0, 1);
    private static final BufferConfig CONFIG = BufferConfig.ofMaxBytes(4096, 1 << 20);
    private static final String[] REMOTES = {"east", "west"};

    private final int rounds;
    private final Ledger<Long> east = new Ledger<>(-1L);
    private final Ledger<Long> west = new Ledger<>(-1L);
    private long newest;

    CursorFilesWorkload(int rounds) {
        this.rounds = rounds;
    }

    @Override
    public String kind() {
        return "cursor files";
    }

    @Override
    public void run(Path root, FileOpTrace trace) throws Exception {
        try (CaptureBuffer buffer = CaptureBuffer.open(root.resolve("buffer"), VOLUME, CONFIG)) {
            buffer.registerRemote(REMOTES[0]);
            east.note(trace.size(), 0L);
            for (int i = 0; i < rounds; i++) {
                for (int r = 0; r < 3; r++) {
                    long seq = buffer.lastSequence() + 1;
                    byte[] payload = Payloads.of(seq, 700 + (int) (seq % 5) * 300);
                    buffer.append(RecordKind.WRITE, seq * 4096, payload.length, 0, WEDGE, payload);
                }
                buffer.sync();
                if (i == rounds / 4) {
                    buffer.registerRemote(REMOTES[1]);
                    west.note(trace.size(), buffer.acknowledged(REMOTES[1]));
                }
                long durable = buffer.durableSequence();
                buffer.acknowledge(REMOTES[0], durable - 1);
                east.note(trace.size(), durable - 1);
                if (i > rounds / 4 && i % 2 == 0) {
                    buffer.acknowledge(REMOTES[1], durable - 4);
                    west.note(trace.size(), Math.max(west.at(trace.size()), durable - 4));
                }
                newest = Math.max(newest, durable);
            }
        }
    }

    @Override
    public String expectationAt(int opsDone) {
        return east.at(opsDone) + "/" + west.at(opsDone);
    }

    @Override
    public void check(Path dir, int opsDone) throws Exception {
        Path bufferDir = dir.resolve("buffer");
        if (!Files.exists(bufferDir)) {
            assertTrue(east.at(opsDone) < 0, "buffer directory lost after a remote was registered");
            return;
        }
        try (CaptureBuffer buffer = CaptureBuffer.open(bufferDir, VOLUME, CONFIG)) {
            Map<String, Long> acks = buffer.status().acknowledged();
            checkCursor(buffer, acks, REMOTES[0], east.at(opsDone));
            checkCursor(buffer, acks, REMOTES[1], west.at(opsDone));
        }
    }

    private void checkCursor(CaptureBuffer buffer, Map<String, Long> acks, String remote, long mustHave) {
        Long got = acks.get(remote);
        if (mustHave < 0 && got == null) {
            return;
        }
        assertTrue(got != null, "remote " + remote + " registered before the cut, missing after");
        assertTrue(got >= mustHave, remote + " cursor " + got + " < acknowledged " + mustHave);
        assertTrue(got <= newest, remote + " cursor " + got + " beyond anything acknowledged");
        assertTrue(buffer.firstSequence() <= got + 1,
                "first retained " + buffer.firstSequence() + " > " + remote + " cursor + 1 (" + got + ")");
    }
}
