package io.tapline.tools;

import io.tapline.journey.resync.CycleStatus;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tapline cycle}: operator controls of a volume in cycle mode. */
@Command(name = "cycle", mixinStandardHelpOptions = true, subcommands = {CycleCommand.Now.class,
        CycleCommand.GroupPointCommand.class},
        description = "Controls a volume mirrored in cycles (a wedge started with --mode cycles).")
final class CycleCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is needed: now or group-point");
    }

    /**
     * {@code tapline cycle now}: asks the running wedge to freeze the volume now and copy the
     * cycle (e.g. after an application's checkpoint), then follows it until every replica holds
     * it: when this returns 0, every write the host saw acknowledged before the command is on
     * every replica, as one consistent image.
     */
    @Command(name = "now", mixinStandardHelpOptions = true,
            description = "Starts a cycle now and waits until every replica holds it.")
    static final class Now implements Callable<Integer> {
        /** A running wedge rewrites its status file every second; this much silence means it is gone. */
        private static final long STALE_MILLIS = 10_000;
        @Spec
        CommandSpec spec;

        @picocli.CommandLine.Mixin
        SpoolTarget target;

        @Option(names = "--json", description = "Print the volume's cycle status as JSON once the cycle is copied.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            long deadline = target.deadlineNanos();
            String volume = target.volume;
            Path volumeDir = target.volumeDir();
            long wanted = target.submitAndAwait("cycle now", RequestSpool.CYCLE, "cycle now: ");
            PrintWriter err = spec.commandLine().getErr();
            long nextProgress = 0;
            // The wedge's silence as this command sees it (its own monotonic clock): how long the file's
            // stamp has not changed, not how far it is from the wall clock, which may step (probe Y D7).
            long lastStamp = Long.MIN_VALUE;
            long stampChangedNanos = System.nanoTime();
            CycleStatus c;
            while (true) {
                SourceStatusFile source = SourceStatusFile.read(volumeDir);
                c = source == null ? null : source.cycles();
                if (c != null && c.lastCopiedCycle() >= wanted) {
                    break;
                }
                if (source != null && !source.running()) {
                    throw new CliFailure("cycle now " + volume + ": the wedge stopped before cycle " + wanted
                            + " was copied");
                }
                if (source == null || source.updatedAtMillis() != lastStamp) {
                    lastStamp = source == null ? Long.MIN_VALUE : source.updatedAtMillis();
                    stampChangedNanos = System.nanoTime();
                }
                long silentMillis = (System.nanoTime() - stampChangedNanos) / 1_000_000;
                if (silentMillis > STALE_MILLIS) {
                    throw new CliFailure("cycle now " + volume + ": the wedge stopped updating its status "
                            + silentMillis / 1000 + " s ago (killed?) before cycle " + wanted + " was copied");
                }
                if (System.nanoTime() > deadline) {
                    throw new CliFailure("cycle now " + volume + ": cycle " + wanted + " not copied after "
                            + target.timeoutSeconds + " s" + (source == null || source.resync() == null ? ""
                            : " (" + source.resync().state() + ": " + source.resync().detail() + ")"));
                }
                if (source != null && source.resync() != null && System.nanoTime() > nextProgress) {
                    err.printf("cycle now %s: cycle %d: %s %s - compared %d/%d chunks, sent %d KiB%n", volume, wanted,
                            source.resync().state(), source.resync().detail(), source.resync().chunksCompared(),
                            source.resync().chunksTotal(), source.resync().bytesSent() >> 10);
                    err.flush();
                    nextProgress = System.nanoTime() + 1_000_000_000L;
                }
                SpoolClient.pause();
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
                m.put("volume", volume);
                m.putAll(StatusCommand.cyclesJson(c, System.currentTimeMillis()));
                out.println(Json.write(m));
            } else {
                out.println("cycle now " + volume + ": cycle " + c.lastCopiedCycle() + " copied to every replica"
                        + " (copy took " + c.lastCopyMillis() + " ms)");
            }
            out.flush();
            return 0;
        }
    }

    /**
     * {@code tapline cycle group-point}: on the replica side, the newest instant every replica of
     * a group holds whole, and the sequence each must be rolled back to for the group to show it
     * (after the source was lost in the middle of a group cycle, before a failover).
     */
    @Command(name = "group-point", mixinStandardHelpOptions = true,
            description = "Finds the newest frozen instant all replicas of a group hold, and the rollback of each to it.")
    static final class GroupPointCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--data", required = true, paramLabel = "DIR", description = "The replayer's data directory.")
        Path data;

        @Option(names = "--volume", required = true, paramLabel = "ID",
                description = "A volume of the group (repeat for each).")
        java.util.List<String> volumes;

        @Option(names = "--remote", paramLabel = "HOST:PORT", defaultValue = "HOST:PORT",
                description = "The replayer's address, for the rollback commands printed.")
        String remote;

        @Option(names = "--json", description = "Machine-readable result on stdout.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            java.util.List<GroupPoint.Member> members;
            try {
                members = GroupPoint.find(data, volumes);
            } catch (java.io.IOException e) {
                throw new CliFailure("cycle group-point: " + e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(Json.write(java.util.Map.of("frozenAtMillis", members.get(0).frozenAtMillis(),
                        "frozenAt", java.time.Instant.ofEpochMilli(members.get(0).frozenAtMillis()).toString(),
                        "members", members)));
            } else {
                out.println("group point: frozen at " + java.time.Instant.ofEpochMilli(members.get(0).frozenAtMillis()));
                for (GroupPoint.Member m : members) {
                    out.println("tapline rollback --remote " + remote + " --volume " + m.volume() + " --to-seq "
                            + m.endSequence());
                }
            }
            out.flush();
            return 0;
        }
    }
}
