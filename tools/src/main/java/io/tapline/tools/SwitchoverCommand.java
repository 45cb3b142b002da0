package io.tapline.tools;

import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.replay.AdminClient;
import io.tapline.tools.cli.CliFailure;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tapline switchover}: a planned role reversal with zero loss. The current primary's node
 * is demoted (its host is fenced, every captured write is drained to the replica, which must
 * report itself consistent), then the replica is promoted without force, shipping back to the
 * old primary, which becomes its secondary.
 */
@Command(name = "switchover", mixinStandardHelpOptions = true,
        description = {"Planned switchover: demotes the primary node --from (its host stops, every write is drained to"
                + " the replica), then promotes the replica on --to, which ships back to --from (now its secondary).",
                "Zero loss: the promotion is refused unless the replica is consistent and has every write."})
final class SwitchoverCommand implements Callable<Integer> {

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
    String volume;

    @Option(names = "--from", required = true, paramLabel = "HOST:PORT",
            description = "The journey endpoint of the current primary's node (tapline wedge --listen, or a promoted replayer).")
    InetSocketAddress from;

    @Option(names = "--to", required = true, paramLabel = "HOST:PORT", description = "The replayer to promote.")
    InetSocketAddress to;

    @Option(names = "--credential-file", paramLabel = "FILE", description = "File holding the nodes' shared secret.")
    Path credentialFile;

    @Option(names = "--json", description = "Machine-readable result on stdout.")
    boolean json;

    @picocli.CommandLine.Mixin
    TlsOptions tls;

    @Override
    public Integer call() throws Exception {
        String credential = Credentials.read(credentialFile);
        String actor = Actor.current();
        javax.net.ssl.SSLContext tlsContext = tls.jdkContext();
        long start = System.nanoTime();
        if (from.equals(to)) {
            throw new CliFailure("--to: " + ReplicationAddresses.hostPort(to) + " (expected: another node than --from)", 2);
        }
        // Before anything changes: a --to nobody answers on would leave the volume with no primary.
        try (java.net.Socket probe = new java.net.Socket()) {
            probe.connect(to, 5_000);
        } catch (java.io.IOException e) {
            throw new CliFailure("switchover: " + ReplicationAddresses.hostPort(to) + " does not answer (" + e.getMessage()
                    + "): nothing changed, " + ReplicationAddresses.hostPort(from) + " still serves volume " + volume);
        }
        JourneyMessage.AdminDone demoted = AdminClient.request(from,
                new AdminRequest(credential, actor, volume, AdminRequest.DEMOTE, 0, AdminRequest.HAND_OVER, ""), 120_000, (d, t) -> { }, tlsContext);
        if (!demoted.ok()) {
            throw new CliFailure("switchover: " + ReplicationAddresses.hostPort(from) + " not demoted (nothing changed"
                    + " on " + ReplicationAddresses.hostPort(to) + "): " + demoted.message());
        }
        // AdminDone's sequence is the demoted side's generation: the new one must be above it.
        AdminRequest promote = new AdminRequest(credential, actor, volume, AdminRequest.PROMOTE, 0,
                AdminRequest.promoteValue(0, demoted.sequence() + 1), ReplicationAddresses.hostPort(from));
        JourneyMessage.AdminDone promoted = AdminClient.request(to, promote, 120_000, (d, t) -> { }, tlsContext);
        long liveUntil = System.nanoTime() + 3_000_000_000L;
        while (!promoted.ok() && promoted.message().contains("still has a live source") && System.nanoTime() < liveUntil) {
            Thread.sleep(50); // the demoted node's link is closing; the replica hears it within milliseconds
            promoted = AdminClient.request(to, promote, 120_000, (d, t) -> { }, tlsContext);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (!promoted.ok()) {
            throw new CliFailure("switchover: " + ReplicationAddresses.hostPort(from) + " was demoted but "
                    + ReplicationAddresses.hostPort(to) + " refused the promotion: " + promoted.message()
                    + "; no node serves volume " + volume + " read-write now: fix that and run `tapline promote --remote "
                    + ReplicationAddresses.hostPort(to) + " --volume " + volume + " --peer "
                    + ReplicationAddresses.hostPort(from) + "` (add --force to accept the replica as it is)");
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ok", true);
            m.put("millis", millis);
            m.put("demoted", demoted.message());
            m.put("promoted", promoted.message());
            System.out.println(io.tapline.tools.cli.Json.write(m));
        } else {
            System.out.println(demoted.message());
            System.out.println(promoted.message());
            System.out.println("switchover of volume " + volume + " done in " + millis + " ms: "
                    + ReplicationAddresses.hostPort(to) + " serves it, " + ReplicationAddresses.hostPort(from)
                    + " is its secondary");
        }
        return 0;
    }
}
