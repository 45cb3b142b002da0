package io.tapline.log.audit;

import io.tapline.log.DurableFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A volume's append-only, hash-chained audit log ({@code audit/audit.log}) and its head
 * ({@code audit/audit.head}): every record applied, gap, mark, rollback, resume and recovery.
 * Big-endian. The reference copy of these tables is {@code docs/formats.md}.
 *
 * <pre>
 * audit.log: entries back to back, no file header
 * offset   size field
 *  0        4   entryLength     L: bytes after this field
 *  4        4   crc32c          CRC-32C of bytes [8, 4 + L) (torn writes)
 *  8        1   version         1
 *  9        1   type            AuditType wire value
 * 10        2   reserved        0
 * 12        8   index           from 1, dense
 * 20        8   loggedNanos
 * 28        8   sequence
 * 36        8   captureTimeNanos (ROLLBACK, RECOVERY: target sequence)
 * 44        8   offsetBytes
 * 52        8   lengthBytes
 * 60        1   recordKind      0 when none
 * 61        1   digestAlgorithm 1 SHA-256
 * 62        2   opcode
 * 64       32   payloadDigest   SHA-256 of the WRITE payload, else zeroes
 * 96        2   n               who: provenance or administrator
 * 98        n   who             UTF-8
 * 98+n      2   m
 * 100+n     m   detail          UTF-8
 * 100+n+m  32   hash            SHA-256(previous hash ‖ bytes [8, 100 + n + m)); previous of entry 1: 32 zero bytes
 *
 * audit.head: two 64-byte slots written alternately (slot = generation mod 2), fdatasync'd
 *  0 4 magic 0x54504148 ("TPAH") | 4 2 version 1 | 6 2 reserved | 8 8 generation
 * 16 8 entries | 24 32 hash of entry `entries` | 56 4 crc32c of [0, 56) | 60 4 reserved
 *
 * audit.checkpoint: see {@link AuditCheckpoint}, written every {@value #CHECKPOINT_EVERY_BYTES} bytes of log
 * </pre>
 *
 * <p>The head lets {@link AuditVerifier} notice a log cut at an entry boundary, which a chain
 * alone cannot show. A forger who rewrites the whole chain and the head is not caught by the
 * files alone: record the head hash ({@code tapline audit verify} prints it) somewhere else.
 *
 * <p>Not thread-safe: the writer is the volume's apply thread. Readers use {@link AuditVerifier}.
 */
public final class AuditLog implements Closeable {
    public static final String DIR = "audit";
    public static final String LOG = "audit.log";
    public static final String HEAD = "audit.head";
    static final int VERSION = 1;
    static final int SLOT = 64;
    static final AlternatingSlots HEAD_SLOTS = new AlternatingSlots(SLOT, 0x54504148, VERSION, 40);
    static final int FIXED = 100;
    /**
     * Log bytes between checkpoints: a replayer's open checks at most about this much of the
     * chain plus what was appended after the last sync (8 MiB: ~50,000 entries, ~0.1 s).
     */
    public static final long CHECKPOINT_EVERY_BYTES = 8L << 20;

    private static final Logger logger = LoggerFactory.getLogger(AuditLog.class);

    private final Path dir;
    private final FileChannel log;
    private final FileChannel head;
    private long size;
    private long entries;
    private byte[] lastHash;
    private long headGeneration;
    private long lastRecordSequence;
    private long trimmedBytes;
    private long lastEntryStart;
    private final long checkpointEveryBytes;
    /** The newest checkpoint slot's generation (0: none), and where the chain's checkpointed part ends (0: none that matches). */
    private long checkpointGeneration;
    private long checkpointEnd;
    private FileChannel checkpointFile;
    private boolean checkpointFailing;
    private final MessageDigest sha = sha256();

    private AuditLog(Path dir, FileChannel log, FileChannel head, long checkpointEveryBytes) {
        this.dir = dir;
        this.log = log;
        this.head = head;
        this.checkpointEveryBytes = checkpointEveryBytes;
    }

    /**
     * Opens the audit log of a volume directory for appending, after verifying its chain from its
     * checkpoint (or from entry 1 when it has none that matches the log, {@link AuditCheckpoint}):
     * a torn tail beyond the head's count (a crash while appending: a partial entry, or the
     * zero-filled blocks a power cut leaves) is cut off and reported in {@link #trimmedBytes()}.
     * Whole entries beyond the head's count are kept; the next {@link #sync} counts them.
     *
     * @throws AuditException when the chain is broken: the replayer does not append to it
     */
    public static AuditLog open(Path volumeDir) throws IOException {
        return open(volumeDir, CHECKPOINT_EVERY_BYTES);
    }

    /** As {@link #open(Path)}, writing a checkpoint every {@code checkpointEveryBytes} bytes of log. */
    public static AuditLog open(Path volumeDir, long checkpointEveryBytes) throws IOException {
        Path dir = Files.createDirectories(volumeDir.resolve(DIR));
        long started = System.nanoTime();
        AuditCheckpoint checkpoint = AuditCheckpoint.read(dir);
        AuditVerifier.Result r = checkpoint == null ? null : AuditVerifier.verifyAfter(volumeDir, checkpoint);
        if (checkpoint != null && r == null) {
            logger.warn("audit checkpoint does not match the log (entry {} is not where it says, or the head counts"
                    + " fewer entries): the whole chain is checked dir={}", checkpoint.entries(), dir);
        }
        if (r == null) {
            r = AuditVerifier.verify(volumeDir);
        }
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        if (tookMillis >= 1000) {
            // Said, so that a source's "no WELCOME" meanwhile is not taken for a hung replayer (probe V D4).
            logger.info("audit log chain checked dir={} entries={} checked={} took={} ms", dir, r.entries(),
                    r.entries() - r.checkedFrom(), tookMillis);
        }
        if (!r.intact() && !r.tornTail()) {
            throw new AuditException("audit log of " + volumeDir + " is not intact: " + r.problem()
                    + "; the replayer refuses to extend it");
        }
        FileChannel log = FileChannel.open(dir.resolve(LOG), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileChannel head = FileChannel.open(dir.resolve(HEAD), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        AuditLog a = new AuditLog(dir, log, head, checkpointEveryBytes);
        try {
            if (r.tornTail()) {
                a.trimmedBytes = log.size() - r.validBytes();
                log.truncate(r.validBytes());
                log.force(true);
                logger.warn("audit log recovery trimmed a torn tail dir={} trimmedBytes={} entries={} problem={}", dir,
                        a.trimmedBytes, r.entries(), r.problem());
            }
            if (r.unconfirmedEntries() > 0) {
                logger.info("audit log has entries after the head's count (written before a crash; the next sync"
                        + " confirms them) dir={} headEntries={} entries={}", dir, r.headEntries(), r.entries());
            }
            a.size = r.validBytes();
            a.entries = r.entries();
            a.lastHash = r.lastHash();
            a.headGeneration = r.headGeneration();
            a.lastRecordSequence = r.lastRecordSequence();
            a.lastEntryStart = r.lastEntryStart();
            a.checkpointGeneration = checkpoint == null ? 0 : checkpoint.generation();
            a.checkpointEnd = checkpoint != null && r.checkedFrom() == checkpoint.entries() ? checkpoint.endOffset() : 0;
            if (a.headGeneration == 0) {
                // A new log gets its head before its first entry: from now on a missing head is
                // never a crash artifact, and verify can refuse it.
                a.sync();
                DurableFiles.syncDirectory(dir);
            }
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
        return a;
    }

    /** Bytes of a torn tail (partial, damaged or zero-filled entries) cut off when the log was opened. */
    public long trimmedBytes() {
        return trimmedBytes;
    }

    /** Sequence of the newest RECORD/GAP/MARK entry, lowered by ROLLBACK and RECOVERY entries. */
    public long lastRecordSequence() {
        return lastRecordSequence;
    }

    /** Appends an entry (page cache; {@link #sync} makes it and the head durable). */
    public void append(AuditType type, long sequence, long captureTimeNanos, long offsetBytes, long lengthBytes,
            int recordKind, int opcode, byte[] payloadDigest, String who, String detail) throws IOException {
        byte[] w = truncUtf8(who);
        byte[] d = truncUtf8(detail);
        int total = FIXED + w.length + d.length + 32;
        ByteBuffer b = ByteBuffer.allocate(total);
        b.putInt(total - 4).putInt(0).put((byte) VERSION).put((byte) type.wireValue()).putShort((short) 0)
                .putLong(entries + 1).putLong(System.currentTimeMillis() * 1_000_000L).putLong(sequence)
                .putLong(captureTimeNanos).putLong(offsetBytes).putLong(lengthBytes).put((byte) recordKind)
                .put((byte) 1).putShort((short) opcode).put(payloadDigest == null ? new byte[32] : payloadDigest)
                .putShort((short) w.length).put(w).putShort((short) d.length).put(d);
        sha.reset();
        sha.update(lastHash);
        sha.update(b.array(), 8, total - 8 - 32);
        byte[] hash = sha.digest();
        b.put(hash);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 8, total - 8);
        b.putInt(4, (int) crc.getValue()).flip();
        long pos = size;
        try {
            while (b.hasRemaining()) {
                pos += log.write(b, pos);
            }
        } catch (IOException e) {
            throw where(e); // a partial entry past size is overwritten by the next append, trimmed at open
        }
        lastEntryStart = size;
        size = pos;
        entries++;
        lastHash = hash;
        switch (type) {
            case RECORD, GAP, MARK -> lastRecordSequence = Math.max(lastRecordSequence, sequence);
            case ROLLBACK, RECOVERY -> lastRecordSequence = captureTimeNanos;
            default -> { }
        }
    }

    /** Makes the appended entries durable, then the head that counts them. */
    public void sync() throws IOException {
        try {
            syncInPlace();
        } catch (IOException e) {
            throw where(e);
        }
    }

    private void syncInPlace() throws IOException {
        log.force(false);
        long gen = headGeneration + 1;
        HEAD_SLOTS.write(head, gen, ByteBuffer.allocate(40).putLong(entries)
                .put(lastHash == null ? new byte[32] : lastHash).flip());
        head.force(false);
        headGeneration = gen;
        if (entries > 0 && size - checkpointEnd >= checkpointEveryBytes) {
            writeCheckpoint();
        }
    }

    /**
     * Records the synced end of the chain as the next open's starting point. A hint: a failure is
     * logged (once until one works again) and leaves the last checkpoint, which only makes the next
     * open check more of the chain.
     */
    private void writeCheckpoint() {
        AuditCheckpoint next = new AuditCheckpoint(checkpointGeneration + 1, entries, lastEntryStart, size,
                lastRecordSequence, lastHash.clone());
        try {
            if (checkpointFile == null) {
                checkpointFile = FileChannel.open(dir.resolve(AuditCheckpoint.FILE), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE);
            }
            AuditCheckpoint.SLOTS.write(checkpointFile, next.generation(), next.body());
            checkpointFile.force(false);
            checkpointGeneration = next.generation();
            checkpointEnd = next.endOffset();
            if (checkpointFailing) {
                checkpointFailing = false;
                logger.info("audit checkpoint written again dir={} entries={}", dir, entries);
            }
        } catch (IOException e) {
            if (!checkpointFailing) {
                checkpointFailing = true;
                logger.warn("audit checkpoint not written (the next open checks the chain from the last one) dir={}"
                        + " error={}", dir, e.toString());
            }
        }
    }

    /**
     * {@code e} naming this log's folder: a channel's error says only "No space left on device",
     * and the operator must know which disk to free.
     */
    private IOException where(IOException e) {
        return DurableFiles.naming("audit log " + dir, e);
    }

    /** SHA-256 of {@code bytes} ({@link #payloadDigest}). */
    public byte[] digest(byte[] bytes) {
        return payloadDigest(bytes);
    }

    private static final ThreadLocal<MessageDigest> PAYLOAD_SHA = ThreadLocal.withInitial(AuditLog::sha256);

    /**
     * The digest an entry carries for a WRITE's payload (SHA-256), computed on any thread: a
     * replayer digests each batch where it is received, ahead of the audit thread (thread-safe).
     */
    public static byte[] payloadDigest(byte[] payload) {
        MessageDigest md = PAYLOAD_SHA.get();
        md.reset();
        return md.digest(payload);
    }

    @Override
    public void close() throws IOException {
        try {
            log.close();
        } finally {
            try {
                head.close();
            } finally {
                if (checkpointFile != null) {
                    checkpointFile.close();
                }
            }
        }
    }

    private static byte[] truncUtf8(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return b.length <= 4096 ? b : java.util.Arrays.copyOf(b, 4096);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
        }
        return sb.toString();
    }

    /**
     * Reads every entry of a volume's audit log (read-only), stopping at the first bad one, into
     * one list: for tests and small logs; a reader of a volume's whole history uses {@link #forEach}.
     */
    public static List<AuditEntry> read(Path volumeDir) throws IOException {
        List<AuditEntry> out = new ArrayList<>();
        AuditVerifier.scan(volumeDir, out::add);
        return out;
    }

    /**
     * Hands each entry of a volume's audit log to {@code each}, in order, one at a time (memory does
     * not grow with the log: a busy volume logs millions of entries), stopping at the first bad one,
     * and says what the read found: a reader that lists or exports the entries must say so when the
     * log stopped at a bad entry or lost its tail.
     */
    public static AuditVerifier.Result forEach(Path volumeDir, Consumer<? super AuditEntry> each) throws IOException {
        return AuditVerifier.scan(volumeDir, each);
    }
}
