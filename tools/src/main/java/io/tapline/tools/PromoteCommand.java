package io.tapline.tools;

import io.tapline.journey.JourneyMessage.AdminRequest;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tapline promote}: makes a replica its volume's primary (a new generation). The
 * replayer's node then serves it read-write on its NBD endpoint and fences the old primary.
 */
@Command(name = "promote", mixinStandardHelpOptions = true,
        description = {"Promotes a replica to primary: a new generation begins, the replayer serves the volume"
                + " read-write on its --nbd endpoint and refuses the old primary (fenced).",
                "Without --force the replica must be consistent and its source disconnected (nothing is lost);"
                        + " --force is for a lost primary and says from which sequence its records are missing."})
final class PromoteCommand implements Callable<Integer> {

    @Mixin
    AdminTarget target;

    @Option(names = "--force", description = "Promote even if the replica is behind or not consistent, or its source"
            + " is still connected (it is fenced).")
    boolean force;

    @Option(names = "--peer", paramLabel = "HOST:PORT",
            description = "A replayer the promoted volume ships its writes to (repeatable; default: none, writes are"
                    + " captured in <data>/<volume>/primary/).")
    List<InetSocketAddress> peers = List.of();

    @Override
    public Integer call() throws Exception {
        String peerList = peers.stream().map(ReplicationAddresses::hostPort).collect(Collectors.joining(","));
        return target.run(AdminRequest.PROMOTE, force ? AdminRequest.FORCE : 0, peerList, 120_000);
    }
}
