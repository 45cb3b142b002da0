package io.tapline.tools;

import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.replay.AdminClient;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tapline resume}: lets sources feed a volume again after a rollback paused it. */
@Command(name = "resume", mixinStandardHelpOptions = true,
        description = "Resumes a volume paused by a rollback: its source is accepted again (resync it first).")
final class ResumeCommand implements Callable<Integer> {

    @Option(names = "--remote", required = true, paramLabel = "HOST:PORT", description = "The replayer.")
    InetSocketAddress remote;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
    String volume;

    @Option(names = "--credential-file", paramLabel = "FILE", description = "File holding the replayer's shared secret.")
    Path credentialFile;

    @Option(names = "--json", description = "Machine-readable result on stdout.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        String actor = Actor.current();
        AdminRequest req = new AdminRequest(Credentials.read(credentialFile), actor, volume, AdminRequest.RESUME, 0, 0, "");
        return RollbackCommand.report(AdminClient.request(remote, req, 60_000, (d, t) -> { }), json);
    }
}
