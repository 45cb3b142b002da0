package io.tapline.tools;

import io.tapline.journey.JourneyMessage.AdminRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code tapline demote}: gives a promoted volume back. Its NBD export becomes a standby again,
 * what was written while it was primary is kept as {@code discarded-<generation>.img}, and the
 * replica is resynced from its source by chunk checksums.
 */
@Command(name = "demote", mixinStandardHelpOptions = true,
        description = {"Demotes a promoted volume back to secondary: its export becomes a standby, the chunks written"
                + " while it was primary are kept in <data>/<volume>/discarded-<generation>.img, and its source"
                + " resyncs it (whole volume, by checksums)."})
final class DemoteCommand implements Callable<Integer> {

    @Mixin
    AdminTarget target;

    @Override
    public Integer call() throws Exception {
        // The node fences its host, then waits for its remotes to take every write: say so, or a
        // link that is down looks like a hang for those seconds.
        System.err.println("demoting volume " + target.volume + " on " + ReplicationAddresses.hostPort(target.remote) + ": its host is refused from now on; waiting up to "
                + ReplicaExports.DRAIN_TIMEOUT.toSeconds() + " s for its remotes to acknowledge every write...");
        return target.run(AdminRequest.DEMOTE, 0, "", 300_000);
    }
}
