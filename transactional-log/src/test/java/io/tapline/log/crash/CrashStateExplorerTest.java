package io.tapline.log.crash;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * Power-cut exploration of the durable file kinds: every state a cut could leave after each
 * file operation of a workload (see {@link CrashExplorer} for the model) is opened with recovery
 * and judged by the workload's oracle. CI explores at least 10,000 distinct states (since
 * 2026-12-07 with workloads half as long as before, to keep CI under 45 minutes);
 * set {@code -Dtapline.crash.scale=N} for N times longer workloads ({@code 2}: the depth before).
 * The workloads are independent (each its own scratch folder and recording file system) and run
 * two at a time (this module's surefire configuration): 87 s instead of 122 s on two cores.
 */
@Execution(ExecutionMode.CONCURRENT)
class CrashStateExplorerTest {
    private static final int SCALE = Integer.getInteger("tapline.crash.scale", 1);
    private static final List<CrashExplorer.Report> REPORTS = new ArrayList<>();

    @TempDir
    Path scratch;

    private static CrashExplorer.Report explore(CrashWorkload workload, Path scratch) throws Exception {
        CrashExplorer.Report report = new CrashExplorer(4, 20, 42).explore(workload, scratch);
        synchronized (REPORTS) {
            REPORTS.add(report);
        }
        assertTrue(report.failures().isEmpty(), report.kind() + ": " + report.failures().size()
                + " failing states, first: " + String.join("\n  ", report.failures()));
        return report;
    }

    @Test
    void bufferSegments() throws Exception {
        explore(new BufferSegmentsWorkload(BufferSegmentsWorkload.BUFFERED, 3, 40 * SCALE), scratch);
    }

    @Test
    void bufferSegmentsWithDirectAppends() throws Exception {
        CrashExplorer.Report report = explore(
                new BufferSegmentsWorkload(BufferSegmentsWorkload.DIRECT, 3, 40 * SCALE), scratch);
        assertTrue(report.paddedWrites() > 0, "no direct (block-padded) append was recorded: O_DIRECT refused here?");
    }

    @Test
    void bufferSegmentsWriteOnce() throws Exception {
        explore(new WriteOnceBufferWorkload(2, 16 * SCALE), scratch); // unforced writes pile up: states grow as their square
    }

    @Test
    void activityLog() throws Exception {
        explore(new ActivityLogWorkload(false, 2, 20 * SCALE), scratch);
    }

    @Test
    void activityLogWriteOnce() throws Exception {
        explore(new ActivityLogWorkload(true, 2, 11 * SCALE), scratch);
    }

    @Test
    void cycleLayers() throws Exception {
        explore(new CycleLayersWorkload(40 * SCALE), scratch);
    }

    @Test
    void cursorFiles() throws Exception {
        explore(new CursorFilesWorkload(75 * SCALE), scratch);
    }

    @Test
    void undoLog() throws Exception {
        CrashExplorer.Report report = explore(new UndoLogWorkload(120 * SCALE, false), scratch);
        assertTrue(report.paddedWrites() > 0, "no direct (block-padded) undo append was recorded: O_DIRECT refused here?");
    }

    @Test
    void undoLogRecyclingSegments() throws Exception {
        explore(new UndoLogWorkload(120 * SCALE, true), scratch);
    }

    @Test
    void auditLog() throws Exception {
        explore(new AuditLogWorkload(3, 100 * SCALE), scratch);
    }

    @Test
    void stateFiles() throws Exception {
        explore(new StateFilesWorkload(150 * SCALE), scratch);
    }

    @Test
    void imageStamps() throws Exception {
        explore(new ImageStampWorkload(12 * SCALE), scratch);
    }

    @AfterAll
    static void report() throws Exception {
        StringBuilder b = new StringBuilder("crash-state exploration (power-cut model: see CrashExplorer)\n");
        b.append(String.format("%-48s %10s %8s %12s %12s %16s %8s%n", "file kind", "file ops", "cuts",
                "states built", "distinct", "refused (repair)", "failing"));
        long total = 0;
        for (CrashExplorer.Report r : REPORTS) {
            b.append(String.format("%-48s %10d %8d %12d %12d %16d %8d%n", r.kind(), r.operations(), r.cuts(),
                    r.statesBuilt(), r.statesChecked(), r.refused(), r.failures().size()));
            total += r.statesChecked();
        }
        b.append("distinct states checked: ").append(total).append('\n');
        System.out.print(b);
        Path out = Path.of("target", "crash-states.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, b);
    }
}
