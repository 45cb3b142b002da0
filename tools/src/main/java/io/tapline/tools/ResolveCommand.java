package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.SecondsConverter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tapline resolve}: ends a split brain on a wedge node ({@code wedge --listen}) whose
 * replica was promoted while this side went on writing. {@code --keep peer}: this side keeps its
 * writes after the promotion as {@code discarded-<generation>.img} and rejoins as the peer's
 * secondary. {@code --keep local}: this side serves its host again; demote the peer first, which
 * keeps its own writes as an image and is then resynced from here.
 */
@Command(name = "resolve", mixinStandardHelpOptions = true,
        description = {"Resolves a split brain on a wedge node (wedge --listen): both sides were written while apart.",
                "--keep peer: this side's writes since the promotion are kept in"
                        + " <buffer>/node/<volume>/discarded-<generation>.img and it rejoins as the peer's secondary.",
                "--keep local: this side serves its host again (run `tapline demote` on the peer first: its writes are"
                        + " kept there as an image and it is resynced from here)."})
final class ResolveCommand implements Callable<Integer> {

    @Option(names = "--buffer", paramLabel = "DIR", description = "The wedge node's buffer directory (its node data is"
            + " <buffer>/node).")
    Path buffer;

    @Option(names = "--data", paramLabel = "DIR", description = "Or a replayer node's data directory (replay --nbd).")
    Path data;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
    String volume;

    @Option(names = "--keep", required = true, paramLabel = "peer|local", description = "Which side's data wins.")
    String keep;

    @Option(names = "--timeout", paramLabel = "SECONDS", converter = SecondsConverter.class, defaultValue = "120",
            description = "How long to wait for the node (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--json", description = "Machine-readable result on stdout.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (!keep.equals("peer") && !keep.equals("local")) {
            throw new CliFailure("--keep: " + keep + " (expected: peer or local)", 2);
        }
        if ((buffer == null) == (data == null)) {
            throw new CliFailure("--buffer or --data: " + (buffer == null ? "neither" : "both")
                    + " given (expected: exactly one)", 2);
        }
        Path nodeData = data != null ? data : buffer.resolve(WedgeCommand.NODE_DATA);
        Path volumeDir = nodeData.resolve(volume);
        if (java.nio.file.Files.isDirectory(volumeDir) && !java.nio.file.Files.exists(volumeDir.resolve(ReplicaExports.SPLIT_BRAIN))) {
            io.tapline.replay.VolumeRole role = io.tapline.replay.VolumeRole.read(volumeDir);
            throw new CliFailure("volume " + volume + " is not in a split brain on this node (" + role.roleName()
                    + " of generation " + role.generation() + "): nothing to resolve");
        }
        return ControlCommands.send(nodeData, volume, ReplicaExports.RESOLVE_SUFFIX, keep, json, "keep", keep,
                timeoutSeconds);
    }
}
