package io.tapline.tools;

import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.replay.AdminClient;
import io.tapline.replay.ConsistentPoints;
import io.tapline.replay.PointInTimeImage;
import io.tapline.replay.RefusedException;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code tapline rollback --until-check CMD}: bisects the consistent points of the rollback window
 * ({@link ConsistentPoints}: FLUSH barriers, MARKs and the current point) for the newest one at
 * which a point-in-time image passes the operator's check, then rolls the replica back there.
 *
 * <p>Runs on the replayer's host (the images are made from {@code --data}); replication goes on
 * while the images are checked; the points considered are those applied when the search began.
 * If the current point passes nothing is rolled back. If no point passes (the oldest point
 * fails too), the command refuses and the replica is untouched. Progress goes to {@code err}.
 */
final class UntilCheckRollback {
    private final InetSocketAddress remote;
    private final String volume;
    private final Path data;
    private final Path imageDir;
    private final ImageCheck check;
    private final PrintStream err;
    private final javax.net.ssl.SSLContext tls;

    UntilCheckRollback(InetSocketAddress remote, String volume, Path data, Path imageDir, ImageCheck check,
            PrintStream err, javax.net.ssl.SSLContext tls) {
        this.tls = tls;
        this.remote = remote;
        this.volume = volume;
        this.data = data;
        this.imageDir = imageDir;
        this.check = check;
        this.err = err;
    }

    /** Searches, rolls back, prints the result; returns the exit code. */
    int run(String credential, int timeoutMillis, boolean json) throws IOException, InterruptedException {
        ConsistentPoints cp;
        try {
            cp = ConsistentPoints.read(data, volume);
        } catch (RefusedException e) {
            throw new CliFailure(e.getMessage());
        }
        int n = cp.points().size();
        err.printf("tapline rollback: %d consistent points (flush/mark) in the window of volume %s, seq %d..%d;"
                + " bisecting%n", n, volume, cp.points().get(0), cp.appliedSequence());
        Path image = Files.createTempFile(imageDir, "tapline-check-" + volume + "-", ".img");
        NewestPassingPoint.Outcome outcome;
        try {
            int[] k = {0};
            outcome = NewestPassingPoint.find(cp.points(), seq -> checkAt(seq, image, ++k[0]));
        } finally {
            Files.deleteIfExists(image);
        }
        if (!outcome.found()) {
            throw new CliFailure("no point in the rollback window of volume " + volume + " passes the check ("
                    + n + " points, seq " + cp.points().get(0) + ".." + cp.appliedSequence()
                    + "); nothing was rolled back");
        }
        long target = outcome.point();
        String message;
        long sequence;
        boolean rolledBack = target != cp.appliedSequence();
        if (!rolledBack) {
            sequence = target;
            message = "volume " + volume + " passes the check at its current seq " + target + "; nothing rolled back";
        } else {
            err.printf("tapline rollback: newest passing point is seq %d after %d checks; rolling back%n", target,
                    outcome.checks());
            String actor = Actor.current();
            AdminRequest req = new AdminRequest(credential, actor, volume, AdminRequest.ROLLBACK,
                    AdminRequest.TO_SEQUENCE, target, "");
            JourneyMessage.AdminDone done = AdminClient.request(remote, req, timeoutMillis,
                    (d, t) -> err.printf("tapline rollback: %d/%d undo records applied (%d%%)%n", d, t,
                            t == 0 ? 100 : d * 100 / t), tls);
            if (!done.ok()) {
                throw new CliFailure(done.message());
            }
            sequence = done.sequence();
            message = done.message();
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ok", true);
            m.put("sequence", sequence);
            m.put("rolledBack", rolledBack);
            m.put("checks", outcome.checks());
            m.put("points", n);
            m.put("message", message);
            System.out.println(Json.write(m));
        } else {
            System.out.println(message);
        }
        return 0;
    }

    private boolean checkAt(long seq, Path image, int k) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        try {
            PointInTimeImage.write(data, volume, AdminRequest.TO_SEQUENCE, seq, "", image);
        } catch (RefusedException e) {
            throw new CliFailure("image at seq " + seq + ": " + e.getMessage());
        }
        boolean ok = check.passes(image);
        err.printf("tapline rollback: check %d at seq %d: %s (%.1f s)%n", k, seq, ok ? "PASS" : "FAIL",
                (System.nanoTime() - t0) / 1e9);
        return ok;
    }
}
