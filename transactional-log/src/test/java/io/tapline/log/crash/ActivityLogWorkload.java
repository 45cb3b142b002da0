package io.tapline.log.crash;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.Bus;
import io.tapline.log.Provenance;
import io.tapline.log.buffer.ActivityLogConfig;
import io.tapline.log.buffer.AppendRequest;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.ChangedChunks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The activity log of a capture buffer, as a wedge drives it: 4 KiB writes into 64 extents of
 * 4 KiB in 16 regions 16 MiB apart from 16 MiB on (so a transaction's bitmap spans three 4 KiB
 * pages, of which it writes those that changed, and a cut can tear it) with three kept hot, one at a time ({@code append}) and in prepared batches ({@code prepare},
 * {@code appendBatch}), a host FLUSH now and then (a sync, then the primary confirmed durable),
 * in the write-once mode a remote acknowledging, and a clean close and reopen between sessions.
 * Oracle, for every state a power cut can leave: the buffer opens; when it opens unclean it
 * tracks (for the resync) every extent written by an append that returned before the cut and was
 * not yet safe at the cut (above the last confirmed durable point, and in the write-once mode
 * above the last acknowledgement), and, once a log was started, not the whole volume. In the
 * write-once mode (each cut read after a reboot, so every record is dropped) also: every write
 * above the changed-chunk set's {@code sinceSequence} is tracked (a replica that applied it is
 * healed by the set), and that sequence is no later than the session's first record or the
 * safe point at the cut, whichever is later (a replica that kept up needs no whole-volume resync).
 */
final class ActivityLogWorkload implements CrashWorkload {
    private static final String VOLUME = "vol1";
    private static final String REMOTE = "r1";
    private static final int MIB = 1 << 20;
    private static final int REGIONS = 16;
    private static final Provenance WEDGE = new Provenance(Bus.WEDGE, "127.0.0.1:50000", VOLUME, 7, 0, 1);

    private final boolean writeOnce;
    private final BufferConfig config;
    private final int sessions;
    private final int roundsPerSession;
    /** Extent and sequence of each write, in the order their appends returned. */
    private final List<long[]> writes = new ArrayList<>();
    private final Ledger<Integer> returned = new Ledger<>(0);
    private final Ledger<Long> safe = new Ledger<>(0L);
    private final Ledger<Boolean> logStarted = new Ledger<>(false);
    /** The buffer's last sequence when the current session opened it. */
    private final Ledger<Long> sessionStart = new Ledger<>(0L);

    ActivityLogWorkload(boolean writeOnce, int sessions, int roundsPerSession) {
        this.writeOnce = writeOnce;
        this.config = BufferConfig.ofMaxBytes(64 * 1024, 64 << 20).withWriteOnce(writeOnce)
                .withActivityLog(new ActivityLogConfig(4096, 3));
        this.sessions = sessions;
        this.roundsPerSession = roundsPerSession;
    }

    @Override
    public String kind() {
        return "activity log" + (writeOnce ? ", write-once" : "");
    }

    @Override
    public void run(Path root, FileOpTrace trace) throws Exception {
        Path dir = root.resolve("buffer");
        Random random = new Random(7);
        long confirmed = 0;
        long acked = 0;
        for (int s = 0; s < sessions; s++) {
            CaptureBuffer buffer = CaptureBuffer.open(dir, VOLUME, config);
            logStarted.note(trace.size(), true);
            sessionStart.note(trace.size(), buffer.lastSequence());
            buffer.registerRemote(REMOTE);
            for (int round = 0; round < roundsPerSession; round++) {
                if (round % 3 == 1) {
                    List<AppendRequest> batch = new ArrayList<>();
                    for (int i = 0; i < 3; i++) {
                        batch.add(write(offset(random)));
                    }
                    buffer.prepare(batch);
                    long first = buffer.lastSequence() + 1;
                    int stored = buffer.appendBatch(batch).size();
                    for (int i = 0; i < batch.size(); i++) {
                        AppendRequest r = batch.get(i);
                        long seq = i < stored ? first + i
                                : buffer.append(r.kind(), r.offsetBytes(), r.lengthBytes(), 0, WEDGE, r.payload()).sequence();
                        note(trace, r.offsetBytes(), seq);
                    }
                } else {
                    AppendRequest r = write(offset(random));
                    long seq = buffer.append(r.kind(), r.offsetBytes(), r.lengthBytes(), 0, WEDGE, r.payload()).sequence();
                    note(trace, r.offsetBytes(), seq);
                }
                if (round % 4 == 3) { // a host FLUSH: the sync pair, then the durable point
                    long through = buffer.lastSequence();
                    buffer.sync();
                    buffer.confirmDurable(through);
                    confirmed = through;
                }
                if (writeOnce && round % 5 == 4 && buffer.lastSequence() - 2 > acked) {
                    acked = buffer.lastSequence() - 2; // a replica applied records that are not durable here
                    buffer.acknowledge(REMOTE, acked);
                }
                safe.note(trace.size(), writeOnce ? Math.min(confirmed, acked) : confirmed);
            }
            buffer.close();
            // A clean close forced every record (and a wedge its primary): nothing written before is
            // at risk from the log's point of view. (A write-once buffer that loses power in a later
            // session drops those segments too: every replica then needs a full resync, the
            // shipper's rule, not the log's.)
            confirmed = buffer.lastSequence();
            acked = writeOnce ? buffer.lastSequence() : acked;
            safe.note(trace.size(), confirmed);
        }
    }

    /**
     * One of four 4 KiB blocks at the start of one of 16 regions of 1 MiB (a changed chunk each),
     * 16 MiB apart from 16 MiB on: extents 4,096 to 69,635, a bitmap over three 4 KiB pages.
     */
    private static long offset(Random random) {
        return (1 + random.nextInt(REGIONS)) * 16L * MIB + random.nextInt(4) * 4096L;
    }

    private void note(FileOpTrace trace, long offset, long seq) {
        writes.add(new long[] {offset, seq});
        returned.note(trace.size(), writes.size());
    }

    private static AppendRequest write(long offset) {
        return io.tapline.log.buffer.TestBuffers.writeRequest(offset, Payloads.of(offset, 4096));
    }

    @Override
    public String expectationAt(int opsDone) {
        return returned.at(opsDone) + "/" + safe.at(opsDone) + "/" + logStarted.at(opsDone) + "/"
                + sessionStart.at(opsDone);
    }

    @Override
    public void check(Path dir, int opsDone) throws Exception {
        Path bufferDir = dir.resolve("buffer");
        if (!Files.exists(bufferDir)) {
            assertTrue(returned.at(opsDone) == 0, "buffer directory lost after writes returned");
            return;
        }
        if (writeOnce) {
            io.tapline.log.buffer.TestBuffers.simulateReboot(bufferDir); // a power cut: the page cache is gone
        }
        boolean unclean;
        long since;
        try (CaptureBuffer buffer = CaptureBuffer.open(bufferDir, VOLUME, config)) {
            unclean = buffer.uncleanShutdown();
            since = buffer.changedChunks().sinceSequence();
        }
        if (!unclean) {
            return; // a clean close forced every record and the primary: nothing is at risk
        }
        List<long[]> ranges = ChangedChunks.readRanges(bufferDir, 1000);
        boolean all = ranges.size() == 1 && ranges.get(0)[1] == Long.MAX_VALUE;
        if (logStarted.at(opsDone)) {
            assertNotEquals(true, all, "a log was kept, but every chunk is tracked");
        }
        long safeAtCut = safe.at(opsDone);
        int n = returned.at(opsDone);
        for (int i = 0; i < n && !all; i++) {
            long[] w = writes.get(i);
            if (w[1] > safeAtCut || writeOnce && w[1] > since) {
                assertTrue(tracked(ranges, w[0]), "offset " + w[0] + " written by seq " + w[1] + " (safe through "
                        + safeAtCut + ", replicas healed by the set from seq " + since + ") is not tracked after the"
                        + " cut: " + describe(ranges));
            }
        }
        if (writeOnce && logStarted.at(opsDone)) {
            long expectedAtMost = Math.max(sessionStart.at(opsDone), safeAtCut);
            assertTrue(since <= expectedAtMost, "a replica that applied seq " + expectedAtMost + " would need every"
                    + " chunk: the set heals only those past seq " + since);
        }
    }

    private static boolean tracked(List<long[]> ranges, long at) {
        for (long[] r : ranges) {
            if (r[0] <= at && at < r[0] + r[1]) {
                return true;
            }
        }
        return false;
    }

    private static String describe(List<long[]> ranges) {
        StringBuilder b = new StringBuilder();
        for (long[] r : ranges) {
            b.append('[').append(r[0] / MIB).append("..").append((r[0] + r[1]) / MIB - 1).append(']');
        }
        return b.toString();
    }
}
