package io.tapline.tools;

import io.tapline.log.undo.MarkIndex;
import io.tapline.replay.RefusedException;
import io.tapline.replay.RollbackWindow;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tapline window}: a replica's rollback window, marks and pause state, read-only. */
@Command(name = "window", mixinStandardHelpOptions = true,
        description = "Shows a replica's rollback window (oldest reachable sequence and time), marks and pause state.")
final class WindowCommand implements Callable<Integer> {

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "The replayer's data directory.")
    Path data;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
    String volume;

    @Option(names = "--json", description = "Machine-readable output.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        RollbackWindow w;
        try {
            w = RollbackWindow.read(data, volume);
        } catch (RefusedException e) {
            throw new CliFailure(e.getMessage());
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("volume", w.volumeId());
        m.put("applied", w.appliedSequence());
        m.put("oldestReachable", w.oldestReachableSequence());
        m.put("oldestReachableBefore", w.oldestTimeNanos() == 0 ? "" : Instant.ofEpochSecond(0, w.oldestTimeNanos()).toString());
        m.put("undoBytes", w.undoBytes());
        m.put("undoSegments", w.undoSegments());
        m.put("undoDiskBytes", w.undoDiskBytes());
        m.put("paused", w.pausedReason() == null ? "" : w.pausedReason());
        m.put("rollbackInProgress", w.rollbackInProgress());
        m.put("replica", w.replicaState());
        m.put("consistentSequence", w.consistentSequence());
        m.put("writtenOutsideAfter", w.exactFromSequence() == 0 ? -1 : w.exactFromSequence() - 1);
        List<Map<String, Object>> runs = new ArrayList<>();
        StringBuilder runText = new StringBuilder();
        for (RollbackWindow.Run r : w.consistentRuns()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("from", r.from());
            x.put("to", r.to());
            runs.add(x);
            runText.append(runText.length() == 0 ? "" : ", ").append(r.from() == r.to() ? "" + r.from()
                    : r.from() + ".." + r.to());
        }
        m.put("consistentRuns", runs); // where a rollback leaves the replica consistent
        List<Map<String, Object>> marks = new ArrayList<>();
        for (MarkIndex.Mark mark : w.marks()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("name", mark.name());
            x.put("sequence", mark.sequence());
            x.put("captured", Instant.ofEpochSecond(0, mark.captureTimeNanos()).toString());
            x.put("reachable", mark.sequence() >= w.oldestReachableSequence());
            marks.add(x);
        }
        m.put("marks", marks);
        // Sequences inside a jump were never applied here: rollback and image refuse them (probe T T6).
        List<List<Long>> jumps = new ArrayList<>();
        try (io.tapline.log.undo.UndoLog undo = io.tapline.log.undo.UndoLog.openReadOnly(
                data.resolve(volume).resolve("undo"))) {
            for (long[] j : undo.jumps()) {
                jumps.add(List.of(j[0], j[1]));
            }
        }
        m.put("jumps", jumps);
        if (json) {
            System.out.println(Json.write(m));
        } else {
            System.out.println("volume " + volume + ": applied seq " + w.appliedSequence() + "; rollback window seq "
                    + w.oldestReachableSequence() + ".." + w.appliedSequence()
                    + (w.oldestTimeNanos() == 0 ? "" : " (from just before " + m.get("oldestReachableBefore") + ")")
                    + (jumps.isEmpty() ? "" : "; never applied here (sequence jumps): " + jumps.stream()
                            .map(j -> "between " + j.get(0) + " and " + j.get(1)).collect(java.util.stream.Collectors
                                    .joining(", ")))
                    + (w.exactFromSequence() == 0 ? "" : "; written outside the log after seq "
                            + (w.exactFromSequence() - 1) + ", no exact image before seq " + w.exactFromSequence())
                    + "; undo log " + w.undoBytes() + " bytes in " + w.undoSegments() + " segments"
                    + (w.undoDiskBytes() == w.undoBytes() ? "" : " (" + w.undoDiskBytes()
                            + " bytes on disk, with a segment kept for reuse or a reused one's older records)")
                    + "; a rollback is consistent at seq " + (runText.length() == 0 ? "none" : runText)
                    + (w.rollbackInProgress() ? "; ROLLBACK IN PROGRESS: the replica holds neither seq "
                            + w.appliedSequence() + " nor its target until the rollback completes"
                            : "; replica " + w.replicaState() + (w.replicaState().equals("consistent") ? ""
                                    : " (last consistent at seq " + w.consistentSequence() + ")"))
                    + (w.pausedReason() == null ? "" : "; PAUSED: " + w.pausedReason()));
            for (Map<String, Object> x : marks) {
                System.out.println("  mark " + x.get("name") + " seq " + x.get("sequence") + " " + x.get("captured")
                        + (Boolean.TRUE.equals(x.get("reachable")) ? "" : " (outside the window)"));
            }
        }
        return 0;
    }
}
