package io.tapline.log.undo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.RecordKind;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reader that opens a running writer's undo log ({@code tapline window}, the consistent points
 * of {@code rollback --until-check}, an image) while retention drops, deletes and reuses the
 * oldest segments under it: every open succeeds and indexes a coherent log, never a reused
 * file's newer records under its older name.
 */
class UndoLogReaderRaceTest {
    /** 4 KiB segments, at most three: retention drops one for about every 16 records appended. */
    private static final UndoConfig TIGHT = new UndoConfig(4096, 12288, Duration.ofDays(1));
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-04T10:00:00Z"), ZoneOffset.UTC);
    private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(4);
    private static final int READERS = 2;

    @TempDir
    Path dir;

    @Test
    void readersOpenARunningLogWhileRetentionReusesAndDeletesItsSegments() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> writerFailed = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            // Reuse allowed and refused in turn, so that both a reused and a deleted segment race the reader.
            long[] turn = {0};
            try (UndoLog undo = UndoLog.open(dir, TIGHT, CLOCK).recycleSegmentsWhen(() -> turn[0]++ % 3 != 0)) {
                long seq = 0;
                while (!stop.get()) {
                    for (int i = 0; i < 8; i++) {
                        seq++;
                        undo.appendBeforeImage(seq, seq * 1000, RecordKind.WRITE, seq * 512, ByteBuffer.wrap(data(seq)));
                    }
                    undo.sync();
                    undo.enforceRetention();
                }
            } catch (Throwable t) {
                writerFailed.set(t);
            }
        }, "undo-writer");
        writer.start();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicInteger opens = new java.util.concurrent.atomic.AtomicInteger();
        long deadline = System.nanoTime() + RUN_NANOS;
        java.util.concurrent.ExecutorService readers = java.util.concurrent.Executors.newFixedThreadPool(READERS);
        try {
            List<java.util.concurrent.Future<?>> running = new ArrayList<>();
            for (int r = 0; r < READERS; r++) {
                running.add(readers.submit(() -> readUntil(deadline, writerFailed, opens, failures)));
            }
            for (java.util.concurrent.Future<?> f : running) {
                f.get();
            }
        } finally {
            stop.set(true);
            writer.join();
            readers.shutdownNow();
        }
        if (writerFailed.get() != null) {
            throw new AssertionError("the writer failed", writerFailed.get());
        }
        assertTrue(opens.get() > 50, "too few opens to race anything: " + opens);
        assertEquals(List.of(), failures.subList(0, Math.min(5, failures.size())),
                failures.size() + " of " + opens + " opens failed");
    }

    /** Opens the log again and again until {@code deadline}, noting every open that fails or reads an incoherent log. */
    private void readUntil(long deadline, AtomicReference<Throwable> writerFailed,
            java.util.concurrent.atomic.AtomicInteger opens, List<String> failures) {
        while (System.nanoTime() < deadline && writerFailed.get() == null) {
            try (UndoLog undo = UndoLog.openReadOnly(dir)) {
                opens.incrementAndGet();
                UndoLog.Window w = undo.window();
                if (!w.empty() && w.oldestReachableSequence() >= w.newestSequence()) {
                    failures.add("window " + w);
                }
                long[] all = undo.sequencesOf(java.util.Set.of(RecordKind.WRITE));
                for (int i = 1; i < all.length; i++) {
                    if (all[i] != all[i - 1] + 1) {
                        failures.add("records out of order or missing: " + all[i - 1] + " then " + all[i] + " in " + w);
                        break;
                    }
                }
            } catch (java.io.IOException e) {
                failures.add(e.toString());
            }
        }
    }

    private static byte[] data(long seq) {
        byte[] b = new byte[200];
        java.util.Arrays.fill(b, (byte) seq);
        return b;
    }
}
