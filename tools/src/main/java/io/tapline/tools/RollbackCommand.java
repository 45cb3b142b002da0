package io.tapline.tools;

import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.replay.AdminClient;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import io.tapline.tools.cli.SecondsConverter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tapline rollback}: asks a replayer to wind a volume back to a sequence, a time or a
 * mark (ADMIN_REQUEST on the journey port). Progress goes to stderr; the volume is paused
 * afterwards until {@code tapline resume}.
 */
@Command(name = "rollback", mixinStandardHelpOptions = true,
        description = "Rolls a replica back to an earlier sequence, time or mark; the volume is paused afterwards.")
final class RollbackCommand implements Callable<Integer> {

    @Option(names = "--remote", converter = io.tapline.tools.cli.SocketAddressConverter.Peer.class, required = true, paramLabel = "HOST:PORT", description = "The replayer.")
    InetSocketAddress remote;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
    String volume;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    @Option(names = "--credential-file", paramLabel = "FILE", description = "File holding the replayer's shared secret.")
    Path credentialFile;

    @Option(names = "--timeout", paramLabel = "SECONDS", converter = SecondsConverter.class, defaultValue = "3600",
            description = "Give up when the replayer is silent this long (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--json", description = "Machine-readable result on stdout.")
    boolean json;

    @picocli.CommandLine.Mixin
    TlsOptions tls;

    /** Exactly one target. */
    static final class Target {
        @Option(names = "--to-seq", paramLabel = "N", description = "Roll back to this sequence.")
        Long seq;

        @Option(names = "--to-time", paramLabel = "ISO", description = "Roll back to the newest record at or before this time, e.g. 2026-11-21T10:15:00Z.")
        Instant time;

        @Option(names = "--to-mark", paramLabel = "NAME", description = "Roll back to a named mark.")
        String mark;

        @Option(names = "--to-last-consistent", description = "Roll back to the newest sequence at which the replica was"
                + " consistent: undoes an unfinished resync or everything after a capture gap.")
        boolean lastConsistent;

        @Option(names = "--until-check", paramLabel = "CMD", description = "Roll back to the newest flush/mark point"
                + " whose point-in-time image passes CMD (run by /bin/sh -c, {image} replaced by the image's path,"
                + " exit 0 = pass), found by bisection; needs --data. E.g. 'e2fsck -fn {image}'.")
        String check;
    }

    @Option(names = "--data", paramLabel = "DIR", description = "The replayer's data directory (--until-check: images"
            + " are made on this host).")
    Path data;

    @Option(names = "--check-timeout", paramLabel = "SECONDS", converter = SecondsConverter.class, defaultValue = "600",
            description = "--until-check: a check running longer fails (default: ${DEFAULT-VALUE}).")
    int checkTimeoutSeconds;

    @Option(names = "--image-dir", paramLabel = "DIR", description = "--until-check: where the temporary image goes"
            + " (default: the system temporary directory).")
    Path imageDir;

    static AdminRequest request(String credential, String volume, Target t) throws java.io.IOException {
        String actor = Actor.current();
        if (t.seq != null) {
            return new AdminRequest(credential, actor, volume, AdminRequest.ROLLBACK, AdminRequest.TO_SEQUENCE, t.seq, "");
        }
        if (t.time != null) {
            long nanos = t.time.getEpochSecond() * 1_000_000_000L + t.time.getNano();
            return new AdminRequest(credential, actor, volume, AdminRequest.ROLLBACK, AdminRequest.TO_TIME, nanos, "");
        }
        if (t.lastConsistent) {
            return new AdminRequest(credential, actor, volume, AdminRequest.ROLLBACK, AdminRequest.TO_LAST_CONSISTENT, 0,
                    "");
        }
        return new AdminRequest(credential, actor, volume, AdminRequest.ROLLBACK, AdminRequest.TO_MARK, 0, t.mark);
    }

    @Override
    public Integer call() throws Exception {
        if (target.check != null) {
            if (data == null) {
                throw new CliFailure("--until-check needs --data DIR (the replayer's data directory on this host)", 2);
            }
            ImageCheck check;
            try {
                check = new ImageCheck(target.check, java.time.Duration.ofSeconds(checkTimeoutSeconds), System.err);
            } catch (IllegalArgumentException e) {
                throw new CliFailure(e.getMessage(), 2); // a bad argument (probe Q D10)
            }
            Path dir = imageDir != null ? imageDir : Path.of(System.getProperty("java.io.tmpdir"));
            return new UntilCheckRollback(remote, volume, data, dir, check, System.err, tls.jdkContext())
                    .run(Credentials.read(credentialFile), timeoutSeconds * 1000, json);
        }
        io.tapline.tools.cli.InstantConverter.notAfterNow("--to-time", target.time);
        AdminRequest req = request(Credentials.read(credentialFile), volume, target);
        JourneyMessage.AdminDone done = AdminClient.request(remote, req, timeoutSeconds * 1000,
                (d, t) -> System.err.printf("tapline rollback: %d/%d undo records applied (%d%%)%n", d, t,
                        t == 0 ? 100 : d * 100 / t), tls.jdkContext());
        return report(done, json);
    }

    static int report(JourneyMessage.AdminDone done, boolean json) {
        return report(done, json, m -> m.put("sequence", done.sequence()));
    }

    /** Prints an administrator's answer: its line, or {@code {ok, FIELDS, message}} with {@code --json}; fails with the line. */
    static int report(JourneyMessage.AdminDone done, boolean json,
            java.util.function.Consumer<Map<String, Object>> fields) {
        if (!done.ok()) {
            throw new CliFailure(done.message());
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ok", true);
            fields.accept(m);
            m.put("message", done.message());
            System.out.println(Json.write(m));
        } else {
            System.out.println(done.message());
        }
        return 0;
    }
}
