package io.tapline.tools;

import io.tapline.journey.resync.ResyncStatus;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tapline resync}: asks the running source process (the wedge) to compare the volume with
 * every replica by checksum and ship only what differs (see {@code ResyncEngine}), then follows
 * its progress (stderr, once a second) until the epoch ends. Resyncs normally start by themselves;
 * this is the explicit way, e.g. after the primary was changed behind Tapline's back.
 */
@Command(name = "resync", mixinStandardHelpOptions = true,
        description = "Compares a volume with its replicas by checksum and ships only the differing blocks.")
final class ResyncCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    SpoolTarget target;

    @Option(names = "--full", description = "Compare the whole volume (default: the tracked changed chunks, or the "
            + "whole volume when a replica needs it).")
    boolean full;

    @Option(names = "--json", description = "Print the final resync status as JSON.")
    boolean json;

    /** How long a replica must go on refusing the source as paused before the command gives up. */
    private static final long PAUSED_GRACE_NANOS = 10_000_000_000L;
    private long pausedSince;

    @Override
    public Integer call() throws Exception {
        long deadline = target.deadlineNanos();
        String volume = target.volume;
        Path volumeDir = target.volumeDir();
        long before = target.submitAndAwait("resync", full ? "full" : "chunks", "");
        PrintWriter err = spec.commandLine().getErr();
        ResyncStatus last = null;
        long nextProgress = 0;
        while (true) {
            SourceStatusFile source = SourceStatusFile.read(volumeDir);
            last = source == null ? null : source.resync();
            if (last != null && last.epochsCompleted() > before && !last.state().equals("resyncing")) {
                break;
            }
            if (source != null && !source.running()) {
                throw new CliFailure("resync " + volume + ": the wedge stopped before the resync ended");
            }
            String paused = null;
            for (LinkStatusFile.Link link : LinkStatusFile.read(volumeDir)) {
                String error = link.lastError();
                if (!link.connected() && error != null && error.startsWith("refused by replayer")
                        && error.contains("tapline resume")) {
                    paused = link.address() + " " + error;
                }
            }
            if (paused == null) {
                pausedSince = 0;
            } else if (pausedSince == 0) {
                pausedSince = System.nanoTime();
            } else if (System.nanoTime() - pausedSince > PAUSED_GRACE_NANOS) {
                // A paused replica (after a rollback) takes no resync until resumed: say so, not wait the
                // timeout out (probe Q D10). The grace lets a link just resumed reconnect first.
                throw new CliFailure("resync " + volume + ": " + paused);
            }
            if (System.nanoTime() > deadline) {
                throw new CliFailure("resync " + volume + ": not done after " + target.timeoutSeconds + " s"
                        + (last == null ? "" : " (" + last.state() + ": " + last.detail() + ")"));
            }
            if (last != null && System.nanoTime() > nextProgress) {
                if (last.state().equals("resyncing") || last.epochsCompleted() > before) {
                    err.printf("resync %s: %s %s - %s%n", volume, last.state(), last.detail(), last.progressText());
                } else { // still the previous epoch's result: this request's epoch has not begun
                    err.printf("resync %s: waiting for the source to begin the epoch%n", volume);
                }
                err.flush();
                nextProgress = System.nanoTime() + 1_000_000_000L;
            }
            SpoolClient.pause();
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("volume", volume); // as verify, mark and image name theirs
            m.putAll(Json.mapper().convertValue(last, LinkedHashMap.class));
            out.println(Json.write(m));
        } else {
            out.println("resync " + volume + ": " + last.lastResult());
        }
        out.flush();
        return 0;
    }
}
