package io.tapline.tools;

import io.tapline.log.buffer.SegmentRepair;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code tapline buffer}: maintenance of a capture buffer that is not in use. */
@Command(name = "buffer", mixinStandardHelpOptions = true,
        description = "Capture buffer maintenance: repair and forget-remote (only while no wedge uses the buffer),"
                + " discard (on the running wedge).",
        subcommands = {BufferCommand.Repair.class, BufferCommand.Discard.class, BufferCommand.ForgetRemote.class})
final class BufferCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * {@code tapline buffer discard}: drops a span of queued records on the running wedge (e.g. an
     * aborted bulk copy that will be redone) without dropping the rest. Their data never ships: the
     * replica receives GAPs of the same ranges, which the wedge tracked as changed chunks first and
     * resyncs from the primary, so the replica ends correct. Audited on the replica with the
     * operator's identity (GAP entries "discarded by user@host ...").
     */
    @Command(name = "discard", mixinStandardHelpOptions = true,
            description = {"Discards queued records --from-seq..--to-seq (not yet acknowledged by any remote) on the"
                    + " running wedge: they ship as GAPs and their chunks are resynced from the primary.",
                    "Sequences: tapline status --buffer DIR --json (captured, acked per remote)."})
    static final class Discard implements Callable<Integer> {
        @Option(names = "--buffer", required = true, paramLabel = "DIR", description = "The wedge's buffer directory.")
        Path buffer;

        @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
        String volume;

        @Option(names = "--from-seq", required = true, paramLabel = "N", description = "First record to discard.")
        long from;

        @Option(names = "--to-seq", required = true, paramLabel = "N", description = "Last record to discard.")
        long to;

        @Option(names = "--json", description = "Machine-readable result.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            if (from < 1 || to < from) {
                throw new CliFailure("--from-seq/--to-seq: " + from + ".." + to + " (expected: 1 <= from <= to)", 2);
            }
            return ControlCommands.send(buffer, volume, OperatorControls.DISCARD_SUFFIX,
                    from + "\n" + to + "\n" + Actor.current() + "\n", json, "span", from + ".." + to);
        }
    }

    /**
     * {@code tapline buffer forget-remote}: a remote taken off the source's command line keeps its
     * cursor in the buffer, which then keeps every record it did not acknowledge and ends FULL;
     * this deletes the cursor (the wedge stopped), and the next start frees what the remaining
     * remotes acknowledged.
     */
    @Command(name = "forget-remote", mixinStandardHelpOptions = true,
            description = {"Deletes the cursor of a remote the source no longer ships to (only while no wedge or snoop"
                    + " uses the buffer); the next start frees what the other remotes acknowledged.",
                    "A remote added back later is resynced if its replica is behind the buffer."})
    static final class ForgetRemote implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--buffer", required = true, paramLabel = "DIR", description = "The buffer directory.")
        Path buffer;

        @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
        String volume;

        @Option(names = "--remote", required = true, paramLabel = "HOST:PORT", description = "The remote to forget,"
                + " as it was given to the source (status --buffer lists it).")
        String remote;

        @Option(names = "--json", description = "Machine-readable result.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            Path dir = SpoolClient.volumeDir(buffer, volume); // a node's promoted-back volume too (probe X D2)
            if (!Files.isDirectory(dir)) {
                throw new CliFailure("--volume: " + volume + " (expected: a volume of buffer " + buffer + ")");
            }
            String cursor = io.tapline.journey.shipper.ShipperConfig.cursorIdOf(remote);
            long at = whileStopped(() -> SegmentRepair.forgetRemote(dir, cursor));
            var out = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("volume", volume);
                m.put("remote", remote);
                m.put("acknowledged", at);
                out.println(Json.write(m));
            } else {
                out.println("remote " + remote + " forgotten by volume " + volume + " (it had acknowledged seq " + at
                        + "); the next start of the source frees what the other remotes acknowledged");
            }
            return 0;
        }
    }

    /**
     * {@code tapline buffer repair}: cuts a damaged segment at the offset start-up named, keeping
     * every record before it, and deletes the later segments. What is cut is lost to the replica:
     * the replica must be resynced afterwards.
     */
    @Command(name = "repair", mixinStandardHelpOptions = true,
            description = "Truncates a corrupt segment at an offset (as named by the start-up error) and drops later segments.")
    static final class Repair implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--segment", required = true, paramLabel = "FILE", description = "The segment file named in the error.")
        Path segment;

        @Option(names = "--truncate-at", required = true, paramLabel = "OFFSET", description = "Byte offset named in the error.")
        long offset;

        @Option(names = "--json", description = "Machine-readable output.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            if (!Files.isRegularFile(segment)) {
                throw new CliFailure("--segment: " + segment + " (expected: an existing segment file)");
            }
            if (offset < 0) {
                throw new CliFailure("--truncate-at: " + offset + " (expected: >= 0)", 2);
            }
            SegmentRepair.Result result = whileStopped(() -> SegmentRepair.truncateAt(segment, offset));
            var out = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("segment", segment.toString());
                m.put("truncatedAt", offset);
                m.put("bytesDropped", result.bytesDropped());
                m.put("filesDeleted", result.filesDeleted().stream().map(Path::toString).toList());
                m.put("wholeVolumeTracked", result.wholeVolumeTracked());
                out.println(Json.write(m));
            } else {
                out.println("repaired " + segment + ": dropped " + result.bytesDropped() + " bytes and "
                        + result.filesDeleted().size() + " later segment(s)" + (result.wholeVolumeTracked()
                        ? "; the whole volume is tracked: the wedge resyncs every replica when it starts (status says"
                                + " not synced until then)" : ""));
            }
            return 0;
        }
    }

    /** An offline buffer operation. */
    @FunctionalInterface
    interface Offline<T> {
        T run() throws java.io.IOException;
    }

    /** Runs {@code op}; a buffer a wedge or snoop holds is refused naming the remedy, not only the lock. */
    static <T> T whileStopped(Offline<T> op) throws java.io.IOException {
        try {
            return op.run();
        } catch (io.tapline.log.ExclusiveLock.InUseException e) {
            throw new CliFailure(e.getMessage() + ": stop the wedge or snoop that uses it first");
        }
    }
}
