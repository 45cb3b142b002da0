package io.tapline.log.buffer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * What one activity-log transaction costs as the volume grows (bench/activity_log_transactions.sh):
 * random 4 KiB writes over a volume of {@code GiB}, each into an extent of 4 MiB that is not hot,
 * with 1024 hot extents and every earlier write safe, so that every write is a transaction that
 * admits one extent and evicts one, as under a host writing randomly past its hot set. Prints the
 * mean and 99th percentile of {@link ActivityLog#admit} (write + fdatasync) and the 4 KiB pages
 * written per transaction. Run once as is and once with {@code -Dtapline.activityLog.wholeSlots=true}
 * (every slot written whole, as before).
 *
 * <p>Usage: {@code ActivityLogBench DIR GiB [transactions=1000]}
 */
public final class ActivityLogBench {
    private static final int EXTENT = 4 << 20;

    private ActivityLogBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long volumeBytes = Long.parseLong(args[1]) << 30;
        int transactions = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
        Files.createDirectories(dir);
        long extents = volumeBytes / EXTENT;
        Random random = new Random(42);
        long[] nanos = new long[transactions];
        try (ActivityLog log = ActivityLog.start(dir, new ActivityLogConfig(EXTENT, 1024), 0)) {
            long seq = 0;
            for (int i = 0; i < 1024 + 1; i++) { // warm up: fill the hot set, spread over the volume
                seq++;
                log.admit(List.of(new ActivityLog.Touch((long) (random.nextDouble() * extents) * EXTENT, 4096, seq)),
                        seq - 1);
            }
            long pagesBefore = log.pagesWritten();
            long admitted = 0;
            while (admitted < transactions) {
                seq++;
                long offset = (long) (random.nextDouble() * extents) * EXTENT;
                if (log.covers(offset, 4096)) {
                    continue; // already hot: no transaction
                }
                long t0 = System.nanoTime();
                log.admit(List.of(new ActivityLog.Touch(offset, 4096, seq)), seq - 1);
                nanos[(int) admitted++] = System.nanoTime() - t0;
            }
            java.util.Arrays.sort(nanos);
            double mean = java.util.Arrays.stream(nanos).average().orElse(0) / 1000;
            System.out.printf("volume %d GiB (%d extents, bitmap %d KiB): %d transactions, mean %.0f us, p99 %.0f us,"
                    + " %.1f pages each%s%n", volumeBytes >> 30, extents, extents / 8 / 1024, transactions, mean,
                    nanos[(int) (transactions * 0.99)] / 1000.0, (log.pagesWritten() - pagesBefore) / (double) transactions,
                    Boolean.getBoolean("tapline.activityLog.wholeSlots") ? " (whole slots)" : "");
        }
    }
}
