package io.tapline.replay;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The role a volume has on this node and its generation, kept in {@code <data>/<volume>/role}
 * (replaced whole and durably: temp file, fsync, rename, directory fsync). A volume without the
 * file is a secondary of generation 1, the generation its first primary wrote.
 *
 * <p>Generations follow DRBD's generation identifiers: each promotion starts a new one. A
 * secondary applies what its source ships; a primary serves its host read-write and refuses
 * every source (the old primary, of an older generation, is fenced: it may never overwrite the
 * newer side).
 *
 * <pre>
 * offset size field
 *  0      4   magic        0x5450524F ("TPRO")
 *  4      2   version      1
 *  6      1   role         0 secondary, 1 primary
 *  7      1   flags        bit 0: written outside the log (see writtenOutsideLog)
 *  8      8   generation   1 before any promotion
 * 16      8   sequence     the applied sequence when the role last changed
 * 24      8   millis       when it last changed (UTC milliseconds)
 * 32      2   n            length of actor
 * 34      n   actor        who changed it
 * 34+n    2   m            length of peers
 * 36+n    m   peers        HOST:PORT,... the promoted volume ships to (may be empty)
 * 36+n+m  4   crc32c       CRC-32C of every byte before it
 * </pre>
 *
 * @param primary    whether the volume is primary here
 * @param generation the generation of the volume's current primary as this node knows it
 * @param sequence   the applied sequence when the role last changed (at a promotion: how far the old
 *                   primary's records had arrived)
 * @param millis     when the role last changed (UTC milliseconds), 0 for the implicit first state
 * @param actor      who changed it, empty for the implicit first state
 * @param peers      where a promoted volume ships (HOST:PORT, comma-separated), empty for none
 * @param writtenOutsideLog a secondary whose replica was served read-write (a fenced promoted
 *                   replica that rejoined): the replayer marks it out of sync, with no consistent
 *                   point, when it next opens it, then clears the flag
 */
public record VolumeRole(boolean primary, long generation, long sequence, long millis, String actor, String peers,
        boolean writtenOutsideLog) {
    /** A role without the written-outside-the-log flag. */
    public VolumeRole(boolean primary, long generation, long sequence, long millis, String actor, String peers) {
        this(primary, generation, sequence, millis, actor, peers, false);
    }

    /** The file's name in the volume directory. */
    public static final String FILE = "role";
    static final int MAGIC = 0x5450524F;
    static final int VERSION = 1;
    /** A replica nobody promoted: a secondary of its first primary's generation. */
    public static final VolumeRole FIRST = new VolumeRole(false, 1, 0, 0, "", "");

    /** The role's name as status prints it. */
    public String roleName() {
        return primary ? "primary" : "secondary";
    }

    /** The role after a promotion at applied sequence {@code sequence}. */
    VolumeRole promoted(long sequence, long millis, String actor, String peers) {
        return promoted(sequence, millis, actor, peers, 0);
    }

    /** The same, with a generation of at least {@code minimumGeneration}. */
    VolumeRole promoted(long sequence, long millis, String actor, String peers, long minimumGeneration) {
        if (generation >= io.tapline.journey.JourneyProtocol.MAX_GENERATION) {
            throw new IllegalStateException("generation: " + generation + " (expected: < "
                    + io.tapline.journey.JourneyProtocol.MAX_GENERATION + "): no promotion past it");
        }
        return new VolumeRole(true, Math.max(generation + 1, minimumGeneration), sequence, millis, actor, peers);
    }

    /** The role after a demotion: a secondary of the same generation. */
    VolumeRole demoted(long sequence, long millis, String actor) {
        return new VolumeRole(false, generation, sequence, millis, actor, "");
    }

    /** Writes this role as {@code dir/role}, durable on return. */
    public void write(Path dir) throws IOException {
        byte[] a = actor.getBytes(StandardCharsets.UTF_8);
        byte[] p = peers.getBytes(StandardCharsets.UTF_8);
        if (a.length > 0xFFFF || p.length > 0xFFFF) {
            throw new IllegalArgumentException("actor/peers: " + a.length + "/" + p.length + " bytes (expected: <= 65535)");
        }
        ByteBuffer b = ByteBuffer.allocate(40 + a.length + p.length);
        b.putInt(MAGIC).putShort((short) VERSION).put((byte) (primary ? 1 : 0)).put((byte) (writtenOutsideLog ? 1 : 0)).putLong(generation)
                .putLong(sequence).putLong(millis).putShort((short) a.length).put(a).putShort((short) p.length).put(p);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        DurableFiles.replace(dir.resolve(FILE), b.array());
    }

    /**
     * Reads the volume's role; {@link #FIRST} when the file is absent.
     *
     * @throws IOException when the file is damaged (one line naming the file and the field)
     */
    public static VolumeRole read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return FIRST;
        }
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (bytes.length < 40 || b.getInt(0) != MAGIC) {
            throw new IOException("role file " + file + ": length " + bytes.length + " or magic (expected: >= 40, 0x5450524f)");
        }
        int version = b.getShort(4) & 0xFFFF;
        if (version != VERSION) {
            throw new IOException("role file " + file + ": version: " + version + " (expected: 1..1)");
        }
        int role = b.get(6);
        if (role != 0 && role != 1) {
            throw new IOException("role file " + file + ": role: " + role + " (expected: 0 secondary, 1 primary)");
        }
        int n = b.getShort(32) & 0xFFFF;
        if (bytes.length < 40 + n) {
            throw new IOException("role file " + file + ": length: " + bytes.length + " (expected: >= " + (40 + n) + ")");
        }
        int m = b.getShort(34 + n) & 0xFFFF;
        if (bytes.length != 40 + n + m) {
            throw new IOException("role file " + file + ": length: " + bytes.length + " (expected: " + (40 + n + m) + ")");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, 36 + n + m);
        int stored = b.getInt(36 + n + m);
        if ((int) crc.getValue() != stored) {
            throw new IOException(String.format("role file %s: crc32c: 0x%08x (expected: 0x%08x)", file,
                    (int) crc.getValue(), stored));
        }
        int flags = b.get(7);
        if ((flags & ~1) != 0) {
            throw new IOException("role file " + file + ": flags: " + flags + " (expected: 0 or 1)");
        }
        return new VolumeRole(role == 1, b.getLong(8), b.getLong(16), b.getLong(24),
                new String(bytes, 34, n, StandardCharsets.UTF_8), new String(bytes, 36 + n, m, StandardCharsets.UTF_8),
                flags == 1);
    }

    /** A node's original primary: generation 1, primary since {@code millis}. */
    public static VolumeRole originalPrimary(long millis, String actor) {
        return new VolumeRole(true, 1, 0, millis, actor, "");
    }

    /**
     * The role after this node, a fenced primary, learned of {@code fence}: its secondary;
     * {@code servedReplica} when the volume was a promoted replica here (its replica files exist
     * and were written outside the log).
     */
    public VolumeRole fencedBy(Fence fence, long millis, String actor, boolean servedReplica) {
        return new VolumeRole(false, fence.generation(), fence.sequence(), millis, actor, "", servedReplica);
    }

    /** The same role without the written-outside-the-log flag. */
    VolumeRole marked() {
        return new VolumeRole(primary, generation, sequence, millis, actor, peers, false);
    }

    /**
     * What a refusal from a promoted peer says: its generation, the sequence of ours it had
     * applied when promoted, and when.
     */
    public record Fence(long generation, long sequence, long millis) {
    }

    private static final java.util.regex.Pattern FENCED = java.util.regex.Pattern.compile(
            "fenced: volume \\S+ is primary on this node since generation (\\d+) \\(promoted by .* at (\\S+) after seq"
                    + " (\\d+)\\)");

    /** The fence a refusal reason describes, or null when it is not a fencing refusal. */
    public static Fence parseFence(String reason) {
        if (reason == null) {
            return null;
        }
        java.util.regex.Matcher m = FENCED.matcher(reason);
        if (!m.find()) {
            return null;
        }
        try {
            return new Fence(Long.parseLong(m.group(1)), Long.parseLong(m.group(3)),
                    java.time.Instant.parse(m.group(2)).toEpochMilli());
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Why a source is refused while the volume is primary here (starts with "fenced:"). */
    String fencedReason(String volumeId) {
        return "fenced: volume " + volumeId + " is primary on this node since generation " + generation
                + " (promoted by " + actor + " at " + java.time.Instant.ofEpochMilli(millis) + " after seq " + sequence
                + "); a source of an older generation may not write it";
    }
}
