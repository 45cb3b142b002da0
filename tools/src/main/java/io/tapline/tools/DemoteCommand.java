package io.tapline.tools;

import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.replay.AdminClient;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

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

    @Option(names = "--remote", required = true, paramLabel = "HOST:PORT", description = "The replayer holding the volume.")
    InetSocketAddress remote;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
    String volume;

    @Option(names = "--credential-file", paramLabel = "FILE", description = "File holding the replayer's shared secret.")
    Path credentialFile;

    @Option(names = "--json", description = "Machine-readable result on stdout.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        AdminRequest req = new AdminRequest(Credentials.read(credentialFile), Actor.current(), volume,
                AdminRequest.DEMOTE, 0, 0, "");
        return RollbackCommand.report(AdminClient.request(remote, req, 300_000, (d, t) -> { }), json);
    }
}
