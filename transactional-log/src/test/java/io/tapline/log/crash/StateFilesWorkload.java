package io.tapline.log.crash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.buffer.ChangedChunks;
import io.tapline.log.undo.MarkIndex;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * The small state files: the changed-chunk set (bits written in place, forced, drained by a
 * whole-file replacement, "whole volume" after markAll, reopened) and the mark index (each mark
 * a durable whole-file replacement; marks dropped after a rollback). Oracle: both open; every
 * chunk marked before a force, drain or close that returned is still tracked (unless a later
 * drain handed it to a resync); the drain's new since-sequence holds once it returned; every
 * mark added before the cut is found, none dropped before the cut is back.
 */
final class StateFilesWorkload implements CrashWorkload {
    private static final int CHUNK = 1 << 20;

    private final int rounds;
    private final Ledger<Set<Long>> chunks = new Ledger<>(Set.of());
    private final Ledger<Boolean> all = new Ledger<>(false);
    private final Ledger<Long> since = new Ledger<>(0L);
    private final Ledger<Set<String>> marks = new Ledger<>(Set.of());
    private final Ledger<Set<String>> droppedMarks = new Ledger<>(Set.of());

    StateFilesWorkload(int rounds) {
        this.rounds = rounds;
    }

    @Override
    public String kind() {
        return "state files";
    }

    @Override
    public void run(Path root, FileOpTrace trace) throws Exception {
        Path bufferDir = Files.createDirectories(root.resolve("buffer"));
        Path undoDir = Files.createDirectories(root.resolve("undo"));
        Set<Long> memory = new HashSet<>();
        Set<String> markNames = new HashSet<>();
        MarkIndex index = MarkIndex.read(undoDir);
        for (int session = 0; session < 2; session++) {
            ChangedChunks set = ChangedChunks.open(bufferDir, CHUNK);
            for (int i = 0; i < rounds; i++) {
                long chunk = (i * 7919L + session * 31) % 600;
                set.mark(chunk * CHUNK + 100, 10);
                memory.add(chunk);
                if (i % 3 == 2) {
                    set.force();
                    chunks.note(trace.size(), Set.copyOf(memory));
                }
                if (i % 25 == 24) {
                    // From the drain's start its chunks belong to the resync that took them.
                    chunks.note(trace.size(), Set.of());
                    long beginSequence = 1000L + session * rounds + i;
                    set.drain(beginSequence);
                    memory.clear();
                    chunks.note(trace.size(), Set.of());
                    since.note(trace.size(), beginSequence);
                }
                if (i % 9 == 4) {
                    String name = "m" + session + "-" + i;
                    index.add(new MarkIndex.Mark(name, 10L * (session * rounds + i) + 1, i));
                    markNames.add(name);
                    marks.note(trace.size(), Set.copyOf(markNames));
                }
            }
            if (session == 1) {
                set.markAll(ChangedChunks.WholeVolumeCause.RANGE_UNKNOWN);
                all.note(trace.size(), true);
            }
            set.close();
            chunks.note(trace.size(), Set.copyOf(memory));
        }
        long cut = 10L * rounds;
        int at = trace.size();
        Set<String> dropped = new HashSet<>();
        for (MarkIndex.Mark m : index.marks()) {
            if (m.sequence() > cut) {
                dropped.add(m.name());
            }
        }
        index.dropAbove(cut);
        markNames.removeAll(dropped);
        marks.note(at, Set.copyOf(markNames));
        droppedMarks.note(trace.size(), Set.copyOf(dropped));
    }

    @Override
    public String expectationAt(int opsDone) {
        return chunks.at(opsDone).hashCode() + "/" + all.at(opsDone) + "/" + since.at(opsDone) + "/"
                + marks.at(opsDone).hashCode() + "/" + droppedMarks.at(opsDone).size();
    }

    @Override
    public void check(Path dir, int opsDone) throws Exception {
        Path bufferDir = dir.resolve("buffer");
        Path undoDir = dir.resolve("undo");
        if (Files.isDirectory(bufferDir)) {
            try (ChangedChunks set = ChangedChunks.open(bufferDir, CHUNK)) {
                long sinceSequence = set.sinceSequence();
                ChangedChunks.Snapshot s = set.drain(0);
                if (all.at(opsDone)) {
                    assertTrue(s.all(), "markAll returned before the cut, the set is not whole-volume");
                }
                if (!s.all()) {
                    for (long c : chunks.at(opsDone)) {
                        assertTrue(s.contains(c), "chunk " + c + " forced before the cut, not tracked after");
                    }
                }
                assertTrue(sinceSequence >= since.at(opsDone),
                        "since " + sinceSequence + " < drained at " + since.at(opsDone));
            }
        } else {
            assertTrue(chunks.at(opsDone).isEmpty(), "changed-chunk directory lost");
        }
        if (Files.isDirectory(undoDir)) {
            MarkIndex index = MarkIndex.read(undoDir);
            for (String name : marks.at(opsDone)) {
                assertTrue(index.find(name).isPresent(), "mark " + name + " added before the cut, missing");
            }
            for (String name : droppedMarks.at(opsDone)) {
                assertEquals(false, index.find(name).isPresent(), "mark " + name + " dropped before the cut, back");
            }
        } else {
            assertTrue(marks.at(opsDone).isEmpty(), "mark directory lost");
        }
    }
}
