package io.tapline.log.audit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * What opening a replica's audit log costs as its history grows: writes N entries shaped as the
 * replayer's WRITE entries (a 4 KiB write's digest, an NBD provenance, no detail), synced every
 * 64 entries as the apply path's groups are, then times {@link AuditLog#open} (what a replayer
 * does for each volume at start), a reopen, and {@link AuditVerifier#verify} (what
 * {@code tapline audit verify} does). Run by {@code bench/audit_open.sh}; not a test.
 */
public final class AuditOpenBench {
    private AuditOpenBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long entries = Long.parseLong(args[1]);
        Path vol = dir.resolve("vol1");
        long written = System.nanoTime();
        Random random = new Random(7);
        byte[] digest = new byte[32];
        try (AuditLog a = AuditLog.open(vol)) {
            for (long i = 1; i <= entries; i++) {
                random.nextBytes(digest);
                a.append(AuditType.RECORD, i, i * 1000, (i * 4096) % (1L << 34), 4096, 1, 1, digest,
                        "nbd 127.0.0.1:51234 -> 127.0.0.1:10809 tag=0x" + Long.toHexString(i), "");
                if (i % 64 == 0) {
                    a.sync();
                }
            }
            a.sync();
        }
        long bytes = Files.size(vol.resolve(AuditLog.DIR).resolve(AuditLog.LOG));
        System.out.printf("wrote %d entries, %d MiB of audit log, in %.1f s%n", entries, bytes >> 20,
                (System.nanoTime() - written) / 1e9);
        for (int round = 1; round <= 3; round++) {
            long t0 = System.nanoTime();
            try (AuditLog a = AuditLog.open(vol)) {
                a.sync();
            }
            long t1 = System.nanoTime();
            AuditVerifier.Result r = AuditVerifier.verify(vol);
            long t2 = System.nanoTime();
            System.out.printf("round %d: AuditLog.open %.3f s; AuditVerifier.verify (audit verify) %.3f s, %d entries,"
                    + " intact=%s%n", round, (t1 - t0) / 1e9, (t2 - t1) / 1e9, r.entries(), r.intact());
        }
    }
}
