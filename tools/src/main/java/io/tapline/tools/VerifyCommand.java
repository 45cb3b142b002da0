package io.tapline.tools;

import io.tapline.journey.control.VerifyReport;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import io.tapline.tools.cli.SecondsConverter;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tapline verify}: an online verify through the running wedge (see {@code OnlineVerify}):
 * compares the primary with every replica by checksum while the host writes, and reports only
 * differences proven at a sequence both sides applied. Differing ranges are audited on the
 * replayer, make the replica out of sync, and are repaired by the next resync (automatic, as for
 * every out-of-sync state); {@code --repair} waits for that repair and verifies again.
 * Exit 0: no difference (or repaired with --repair); 1: differences found.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Compares a volume with its replicas while the host writes; reports only real differences.")
final class VerifyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--buffer", required = true, paramLabel = "DIR", description = "The wedge's buffer directory.")
    Path buffer;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume (export name).")
    String volume;

    @Option(names = "--repair", description = "Wait until a resync repaired the differences, then verify again.")
    boolean repair;

    @Option(names = "--timeout", paramLabel = "SECONDS", converter = SecondsConverter.class, defaultValue = "3600",
            description = "Give up waiting after this long (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--json", description = "Machine-readable report on stdout.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (timeoutSeconds < 1) {
            throw new CliFailure("--timeout: " + timeoutSeconds + " (expected: >= 1 second)", 2);
        }
        Path volumeDir = SpoolClient.volumeDir(buffer, volume); // a node's promoted-back volume too (probe X D2)
        Path requests = SpoolClient.requests(buffer, volume);
        long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        PrintWriter err = spec.commandLine().getErr();
        Map<String, Object> report = runOnce(requests, volumeDir, deadline, err);
        List<Map<String, Object>> rounds = new ArrayList<>(List.of(report));
        boolean differs = !((List<?>) report.get("ranges")).isEmpty();
        if (differs && repair) {
            long before = ((Number) report.get("epochsBefore")).longValue();
            awaitRepair(volumeDir, before, deadline, err);
            report = runOnce(requests, volumeDir, deadline, err);
            rounds.add(report);
            differs = !((List<?>) report.get("ranges")).isEmpty();
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("volume", volume);
            m.put("differs", differs);
            m.put("rounds", rounds);
            out.println(Json.write(m));
        } else {
            for (Map<String, Object> r : rounds) {
                out.println("verify " + volume + ": " + r.get("summary"));
            }
        }
        out.flush();
        if (differs) {
            throw new CliFailure("verify " + volume + ": replicas differ in " + ((List<?>) report.get("ranges")).size()
                    + " ranges" + (repair ? " after the repair" : " (a resync repairs them; --repair waits for it)"));
        }
        return 0;
    }

    private Map<String, Object> runOnce(Path requests, Path volumeDir, long deadline, PrintWriter err)
            throws Exception {
        SourceStatusFile before = SourceStatusFile.read(volumeDir);
        long epochsBefore = before == null || before.resync() == null ? 0 : before.resync().epochsCompleted();
        String id = SpoolClient.submit(requests, RequestSpool.VERIFY_SUFFIX, Actor.current() + "\n");
        long[] nextProgress = {System.nanoTime() + 1_000_000_000L};
        Path answer = SpoolClient.await(requests, id, RequestSpool.VERIFY_SUFFIX, deadline, "verify " + volume
                + ": no result within " + timeoutSeconds + " s (is the wedge for volume " + volume + " running?)", () -> {
                    if (System.nanoTime() > nextProgress[0]) {
                        progress(volumeDir, err);
                        nextProgress[0] = System.nanoTime() + 1_000_000_000L;
                    }
                }, ".verify.json", ".verify.failed");
        String text = SpoolClient.take(answer);
        if (answer.getFileName().toString().endsWith(".failed")) {
            throw new CliFailure("verify " + volume + ": " + text);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> report = Json.mapper().readValue(text, Map.class);
        report.put("epochsBefore", epochsBefore);
        return report;
    }

    private void progress(Path volumeDir, PrintWriter err) {
        try {
            SourceStatusFile s = SourceStatusFile.read(volumeDir);
            if (s != null && s.resync() != null) {
                err.println("verify " + volume + ": " + s.resync().detail());
                err.flush();
            }
        } catch (java.io.IOException e) {
            // progress is advisory: the next look tries again
        }
    }

    private void awaitRepair(Path volumeDir, long epochsBefore, long deadline, PrintWriter err) throws Exception {
        while (true) {
            SourceStatusFile s = SourceStatusFile.read(volumeDir);
            if (s != null && s.resync() != null && s.resync().epochsCompleted() > epochsBefore
                    && s.resync().state().equals("idle")
                    && io.tapline.log.buffer.ChangedChunks.readCount(volumeDir) == 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new CliFailure("verify " + volume + ": not repaired within " + timeoutSeconds + " s");
            }
            SpoolClient.pause();
        }
    }

    /** The JSON form of a report (ranges as {offset, length} objects). */
    static Map<String, Object> toMap(VerifyReport r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("atSequence", r.atSequence());
        m.put("bytesCompared", r.bytesCompared());
        List<Map<String, Long>> ranges = new ArrayList<>();
        for (long[] range : r.ranges()) {
            Map<String, Long> x = new LinkedHashMap<>();
            x.put("offset", range[0]);
            x.put("length", range[1]);
            ranges.add(x);
        }
        m.put("ranges", ranges);
        m.put("differingBytes", r.differingBytes());
        m.put("recheckedChunks", r.recheckedChunks());
        m.put("unverifiedChunks", r.unverifiedChunks());
        m.put("durationMillis", r.durationMillis());
        m.put("actor", r.actor());
        m.put("summary", r.summary());
        return m;
    }
}
