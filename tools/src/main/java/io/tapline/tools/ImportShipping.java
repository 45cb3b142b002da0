package io.tapline.tools;

import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.snoop.volume.VolumeRouter;
import io.tapline.snoop.volume.VolumeRouter.ShippingProgress;
import io.tapline.tools.cli.CliFailure;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The end of {@code tapline snoop --pcap FILE --remote R}: waits until every remote has
 * acknowledged (durably applied) every record the import captured, for every volume, printing a
 * progress line on stderr about once a second, so that the command's exit says whether the
 * replicas hold the file's writes.
 *
 * <p>Fails at once, naming the volume and remote, when a replayer refuses the source (fenced,
 * paused, a volume of another size; a "busy" refusal passes and is retried) or a volume cannot
 * ship (its size never showed on the wire and no {@code --volume-size}); fails after {@code timeout} naming what is still missing. A
 * link that is down is retried by its shipper until then (a replayer started late is fine).
 *
 * <p>Runs on the calling thread; reads the router's shipper snapshots only.
 */
final class ImportShipping {
    private static final long POLL_MILLIS = 100;
    private static final long PROGRESS_EVERY_NANOS = 1_000_000_000L;

    private final VolumeRouter router;
    private final Duration timeout;
    private final PrintStream progressOut;

    /** Each volume's source side publishes its link-status.json for {@code tapline status} meanwhile. */
    ImportShipping(VolumeRouter router, Duration timeout, PrintStream progressOut) {
        this.router = router;
        this.timeout = timeout;
        this.progressOut = progressOut;
    }

    /**
     * Waits until every remote acknowledged every record; returns, per volume and remote, what it
     * acknowledged and the replica's last reported state.
     *
     * @throws CliFailure (exit 1) on a refusal, a volume that cannot ship, or the timeout
     */
    List<Map<String, Object>> await() throws InterruptedException {
        long started = System.nanoTime();
        long ackedAt = 0;
        long deadline = started + timeout.toNanos();
        long nextProgress = started;
        while (true) {
            List<String> unshipped = router.unshippedVolumes();
            if (!unshipped.isEmpty()) {
                throw new CliFailure("ship: volume " + String.join(", ", unshipped) + " cannot ship: its size never showed"
                        + " on the wire (expected: --volume-size SIZE)");
            }
            List<ShippingProgress> progress = router.shippingProgress();
            refusal(progress);
            long now = System.nanoTime();
            boolean acked = behind(progress).isEmpty();
            if (acked && ackedAt == 0) {
                ackedAt = now;
            }
            // The replica's state is read from its report at the last record (it follows the ACK):
            // an earlier report may say consistent of a replica the last records made out of sync.
            boolean reported = acked && unreported(progress) == 0 && historiesChecked(progress);
            boolean done = reported || (acked && now - ackedAt > REPORT_WAIT_NANOS);
            if (done || now >= nextProgress) {
                progressOut.println(line(progress, now - started));
                nextProgress = now + PROGRESS_EVERY_NANOS;
            }
            if (done) {
                return result(progress);
            }
            if (now >= deadline) {
                throw new CliFailure("ship: not every record acknowledged after " + timeout.toSeconds() + " s (--ship-timeout): "
                        + String.join("; ", behind(progress)) + "; the records stay in the buffer: import the file again"
                        + " into a new --buffer directory to resume (the replayer skips what it applied)");
            }
            Thread.sleep(POLL_MILLIS); // the shippers' threads move the figures: nothing to wait on
        }
    }

    private static void refusal(List<ShippingProgress> progress) {
        for (ShippingProgress p : progress) {
            for (ShipperStatus st : p.links()) {
                // "volume busy" passes (the session of a process that just ended, an admin's
                // rollback): the shipper retries it like a link down, until the timeout.
                if (st.lastError() != null && st.lastError().startsWith("refused by replayer")
                        && !st.lastError().contains("busy")) {
                    throw new CliFailure("ship: remote " + st.address() + " " + st.lastError() + " (volume " + p.volume()
                            + ", acked " + st.lastAckedSequence() + " of " + p.lastSequence() + ")");
                }
            }
        }
    }

    /** How long after the last ACK the replicas' reports at the last record are waited for. */
    private static final long REPORT_WAIT_NANOS = 10_000_000_000L;

    /**
     * Whether every link compared the replica's last record with this import's record of that
     * sequence: a replica that holds another capture's records numbered as far as this one's
     * reports consistent at the last record, and is not this file's copy.
     */
    private static boolean historiesChecked(List<ShippingProgress> progress) {
        for (ShippingProgress p : progress) {
            if (p.histories().contains(io.tapline.journey.shipper.Shipper.HistoryVerdict.NOT_CHECKED)) {
                return false;
            }
        }
        return true;
    }

    /** Links whose replica has not reported its state at the volume's last record yet. */
    private static int unreported(List<ShippingProgress> progress) {
        int n = 0;
        for (ShippingProgress p : progress) {
            for (ShipperStatus st : p.links()) {
                if (!coversLast(st, p)) {
                    n++;
                }
            }
        }
        return n;
    }

    private static boolean coversLast(ShipperStatus st, ShippingProgress p) {
        return st.replica() != null && st.replica().lastApplied() >= p.lastSequence();
    }

    /** What is still missing: one entry per volume and remote behind. */
    private static List<String> behind(List<ShippingProgress> progress) {
        List<String> out = new ArrayList<>();
        for (ShippingProgress p : progress) {
            for (ShipperStatus st : p.links()) {
                if (st.lastAckedSequence() < p.lastSequence()) {
                    out.add("volume " + p.volume() + " remote " + st.address() + " acked " + st.lastAckedSequence()
                            + " of " + p.lastSequence() + (st.connected() ? "" : " (link down"
                            + (st.lastError() == null || st.lastError().isBlank() ? "" : ": " + st.lastError()) + ")"));
                }
            }
        }
        return out;
    }

    private static String line(List<ShippingProgress> progress, long elapsedNanos) {
        long acked = 0;
        long total = 0;
        int links = 0;
        int connected = 0;
        for (ShippingProgress p : progress) {
            for (ShipperStatus st : p.links()) {
                acked += Math.min(st.lastAckedSequence(), p.lastSequence());
                total += p.lastSequence();
                links++;
                connected += st.connected() ? 1 : 0;
            }
        }
        return String.format("tapline snoop: shipping: %d of %d records acknowledged (%d %%), %d volume(s), links up %d/%d, %d s",
                acked, total, total == 0 ? 100 : acked * 100 / total, progress.size(), connected, links,
                elapsedNanos / 1_000_000_000L);
    }

    private static List<Map<String, Object>> result(List<ShippingProgress> progress) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ShippingProgress p : progress) {
            for (int i = 0; i < p.links().size(); i++) {
                ShipperStatus st = p.links().get(i);
                // the shippers' verdicts come first, in the links' order (a Kafka link has none)
                io.tapline.journey.shipper.Shipper.HistoryVerdict history = i < p.histories().size()
                        ? p.histories().get(i) : io.tapline.journey.shipper.Shipper.HistoryVerdict.NOT_CHECKABLE;
                boolean diverged = history == io.tapline.journey.shipper.Shipper.HistoryVerdict.DIVERGED;
                boolean unchecked = history == io.tapline.journey.shipper.Shipper.HistoryVerdict.NOT_CHECKED;
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("volume", p.volume());
                m.put("remote", st.address());
                m.put("captured", p.lastSequence());
                m.put("acked", st.lastAckedSequence());
                m.put("replica", diverged ? "diverged" : unchecked || !coversLast(st, p) ? "unknown"
                        : st.replica().state());
                out.add(m);
            }
        }
        return out;
    }
}
