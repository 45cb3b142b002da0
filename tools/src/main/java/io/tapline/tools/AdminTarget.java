package io.tapline.tools;

import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.replay.AdminClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options every administrator's request to a replayer shares (a picocli mixin: resume,
 * promote, demote): which replayer, which volume, its secret, JSON output; and the request itself.
 */
final class AdminTarget {
    @Option(names = "--remote", converter = io.tapline.tools.cli.SocketAddressConverter.Peer.class, required = true, paramLabel = "HOST:PORT", description = "The replayer.")
    InetSocketAddress remote;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
    String volume;

    @Option(names = "--credential-file", paramLabel = "FILE", description = "File holding the replayer's shared secret.")
    Path credentialFile;

    @Option(names = "--json", description = "Machine-readable result on stdout.")
    boolean json;

    @picocli.CommandLine.Mixin
    TlsOptions tls;

    /** Sends one request as the current user and waits up to {@code timeoutMillis} for its answer. */
    JourneyMessage.AdminDone request(int action, long value, String text, int timeoutMillis) throws IOException {
        AdminRequest req = new AdminRequest(Credentials.read(credentialFile), Actor.current(), volume, action, 0, value,
                text);
        return AdminClient.request(remote, req, timeoutMillis, (d, t) -> { }, tls.jdkContext());
    }

    /** Sends it and prints the answer (exit 0), or fails with the replayer's one line. */
    int run(int action, long value, String text, int timeoutMillis) throws IOException {
        JourneyMessage.AdminDone done = request(action, value, text, timeoutMillis);
        if (action == AdminRequest.PROMOTE || action == AdminRequest.DEMOTE) {
            return reportRoleChange(done, json, action == AdminRequest.PROMOTE);
        }
        return RollbackCommand.report(done, json);
    }

    /**
     * A promotion's or demotion's answer: its number is the generation, not a sequence (the JSON
     * said {@code "sequence": 4} for generation 4); a promotion's {@code "sequence"} is the one it
     * began at, as the replayer's line names it ({@code ... at seq N}); a demotion has none.
     */
    static int reportRoleChange(JourneyMessage.AdminDone done, boolean json, boolean promotion) {
        return RollbackCommand.report(done, json, m -> {
            m.put("generation", done.sequence());
            // A promotion's line names the sequence it began at; a demotion's names the promotion's (probe N N5).
            java.util.regex.Matcher at = java.util.regex.Pattern.compile(" at seq (\\d+)").matcher(done.message());
            if (promotion && at.find()) {
                m.put("sequence", Long.parseLong(at.group(1)));
            }
        });
    }
}
