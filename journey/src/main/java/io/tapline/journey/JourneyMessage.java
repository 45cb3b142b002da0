package io.tapline.journey;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The messages of the journey link (see {@link JourneyDecoder} for the byte layout). Values:
 * immutable in contract and safe to share between threads; a {@link Batch}'s byte array is owned
 * by the message and must not be changed after construction.
 */
public sealed interface JourneyMessage {

    /** The frame type that carries this message. */
    MessageType type();

    /**
     * Source to replayer, first frame of a session.
     *
     * @param protocolVersion {@link JourneyProtocol#VERSION}
     * @param sourceId        stable name of the source (host or wedge instance)
     * @param volumeId        the volume this session replicates
     * @param volumeSizeBytes size of the source volume
     * @param blockSizeBytes  block size of the source volume
     * @param credential      shared secret, empty when none is configured
     * @param generation      the generation of the primary that ships (failover, docs/failover.md);
     *                        0 for none (a source outside failover, or a HELLO of version 2 or 3)
     */
    record Hello(int protocolVersion, String sourceId, String volumeId, long volumeSizeBytes, int blockSizeBytes,
            String credential, long generation) implements JourneyMessage {
        public Hello {
            checkU16("protocolVersion", protocolVersion);
            checkString("sourceId", sourceId);
            checkString("volumeId", volumeId);
            checkString("credential", credential);
            if (generation < 0) {
                throw new IllegalArgumentException("generation: " + generation + " (expected: >= 0)");
            }
        }

        /** A HELLO of a source outside failover (generation 0). */
        public Hello(int protocolVersion, String sourceId, String volumeId, long volumeSizeBytes, int blockSizeBytes,
                String credential) {
            this(protocolVersion, sourceId, volumeId, volumeSizeBytes, blockSizeBytes, credential, 0);
        }

        @Override
        public MessageType type() {
            return MessageType.HELLO;
        }

        @Override
        public String toString() {
            // Never print the credential.
            return "Hello[protocolVersion=" + protocolVersion + ", sourceId=" + sourceId + ", volumeId=" + volumeId
                    + ", volumeSizeBytes=" + volumeSizeBytes + ", blockSizeBytes=" + blockSizeBytes
                    + ", credential=" + (credential.isEmpty() ? "none" : "***") + ", generation=" + generation + "]";
        }
    }

    /** Replayer to source: the session is open; the source resumes after {@code lastAppliedSequence}. */
    record Welcome(long lastAppliedSequence) implements JourneyMessage {
        @Override
        public MessageType type() {
            return MessageType.WELCOME;
        }
    }

    /** Replayer to source: the HELLO was refused for {@code reason}; the replayer then closes. */
    record Refused(String reason) implements JourneyMessage {
        public Refused {
            checkString("reason", reason);
        }

        @Override
        public MessageType type() {
            return MessageType.REFUSED;
        }
    }

    /**
     * Source to replayer: consecutive records. {@code body} is the concatenation of the records'
     * {@code RecordCodec} encodings, compressed as {@code compression} says; {@code crc32c} covers
     * the uncompressed bytes. Build one with {@link BatchCodec#pack}, read one with
     * {@link BatchCodec#unpack}.
     */
    record Batch(long batchId, long firstSequence, long lastSequence, int recordCount, Compression compression,
            int uncompressedLength, int crc32c, byte[] body) implements JourneyMessage {
        public Batch {
            Objects.requireNonNull(compression, "compression");
            Objects.requireNonNull(body, "body");
            if (recordCount < 1) {
                throw new IllegalArgumentException("recordCount: " + recordCount + " (expected: >= 1)");
            }
            if (firstSequence < 1 || lastSequence < firstSequence
                    || lastSequence - firstSequence != recordCount - 1L) {
                throw new IllegalArgumentException("sequences: " + firstSequence + ".." + lastSequence
                        + " (expected: 1 <= first <= last, last - first + 1 == recordCount " + recordCount + ")");
            }
            if (uncompressedLength < 0) {
                throw new IllegalArgumentException(
                        "uncompressedLength: " + uncompressedLength + " (expected: >= 0)");
            }
            if (compression == Compression.NONE && body.length != uncompressedLength) {
                throw new IllegalArgumentException("body: " + body.length
                        + " bytes (expected: uncompressedLength " + uncompressedLength + " when uncompressed)");
            }
        }

        @Override
        public MessageType type() {
            return MessageType.BATCH;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Batch b && batchId == b.batchId && firstSequence == b.firstSequence
                    && lastSequence == b.lastSequence && recordCount == b.recordCount
                    && compression == b.compression && uncompressedLength == b.uncompressedLength
                    && crc32c == b.crc32c && java.util.Arrays.equals(body, b.body);
        }

        @Override
        public int hashCode() {
            return Objects.hash(batchId, firstSequence, lastSequence, crc32c);
        }

        @Override
        public String toString() {
            return "Batch[id=" + batchId + ", seq=" + firstSequence + ".." + lastSequence + ", records="
                    + recordCount + ", compression=" + compression + ", bytes=" + body.length + "/"
                    + uncompressedLength + ", crc32c=" + String.format("0x%08x", crc32c) + "]";
        }
    }

    /**
     * Replayer to source: batch {@code batchId} is durable; every record up to
     * {@code lastAppliedSequence} is applied and on stable storage. {@code crc32c} echoes the
     * batch's checksum.
     */
    record Ack(long batchId, long lastAppliedSequence, int crc32c) implements JourneyMessage {
        @Override
        public MessageType type() {
            return MessageType.ACK;
        }
    }

    /** Either side: a fatal error; the sender closes the connection after it. */
    record Error(String message) implements JourneyMessage {
        public Error {
            checkString("message", message);
        }

        @Override
        public MessageType type() {
            return MessageType.ERROR;
        }
    }

    /**
     * Administrator to replayer, first and only request of an admin connection (no HELLO):
     * roll a volume back, resume a paused one, promote a replica to primary or demote it back.
     * Answered by zero or more
     * {@link AdminProgress} and one {@link AdminDone}, then the replayer closes.
     *
     * @param credential the replayer's shared secret, empty when none is configured
     * @param actor      who asks (user@host), recorded in the audit log
     * @param volumeId   the volume
     * @param action     {@link #ROLLBACK}, {@link #RESUME}, {@link #PROMOTE} or {@link #DEMOTE}
     * @param targetKind {@link #TO_SEQUENCE}, {@link #TO_TIME}, {@link #TO_MARK}, {@link #TO_LAST_CONSISTENT}; 0 for
     *                   the other actions
     * @param value      the sequence, or the time in UTC nanoseconds since the epoch; for PROMOTE the flags
     *                   ({@link #FORCE}) and the lowest generation to start ({@link #promoteValue})
     * @param markName   the mark for TO_MARK; for PROMOTE the peers the promoted volume ships to
     *                   (HOST:PORT, comma-separated); else empty
     */
    record AdminRequest(String credential, String actor, String volumeId, int action, int targetKind, long value,
            String markName) implements JourneyMessage {
        public static final int ROLLBACK = 1;
        public static final int RESUME = 2;
        /** Make the replica the volume's primary: a new generation; sources of older ones are fenced. */
        public static final int PROMOTE = 3;
        /** Give a promoted volume back: it becomes a secondary again, to be resynced from its source. */
        public static final int DEMOTE = 4;
        /** PROMOTE flag: promote even when the replica is behind, out of sync or its source is connected. */
        public static final long FORCE = 1;
        /**
         * DEMOTE flag: a switchover's hand-over. The demotion waits for every write of the fenced host
         * to reach the remotes; when they do not all arrive in time the volume stays primary and serves
         * its host again (without it, a promoted volume is demoted anyway, its writes kept aside).
         */
        public static final long HAND_OVER = 1;

        /** PROMOTE value: {@code flags} with the lowest generation the promotion may start (bits 8 and up). */
        public static long promoteValue(long flags, long minimumGeneration) {
            if (minimumGeneration < 0 || minimumGeneration > (Long.MAX_VALUE >>> 8)) {
                throw new IllegalArgumentException("minimumGeneration: " + minimumGeneration + " (expected: >= 0)");
            }
            return (flags & 0xFF) | (minimumGeneration << 8);
        }

        /** The lowest generation a PROMOTE's {@code value} allows (0: any). */
        public static long minimumGeneration(long value) {
            return value >>> 8;
        }
        public static final int TO_SEQUENCE = 1;
        public static final int TO_TIME = 2;
        public static final int TO_MARK = 3;
        /** The newest sequence at which the replica was consistent (before a resync or a gap). */
        public static final int TO_LAST_CONSISTENT = 4;

        public AdminRequest {
            checkString("credential", credential);
            checkString("actor", actor);
            checkString("volumeId", volumeId);
            checkString("markName", markName);
            if (action < ROLLBACK || action > DEMOTE) {
                throw new IllegalArgumentException("action: " + action
                        + " (expected: 1 ROLLBACK, 2 RESUME, 3 PROMOTE, 4 DEMOTE)");
            }
            if (action == ROLLBACK ? targetKind < TO_SEQUENCE || targetKind > TO_LAST_CONSISTENT : targetKind != 0) {
                throw new IllegalArgumentException("targetKind: " + targetKind
                        + " (expected: 1..4 for ROLLBACK, 0 for the other actions)");
            }
        }

        @Override
        public MessageType type() {
            return MessageType.ADMIN_REQUEST;
        }

        @Override
        public String toString() {
            return "AdminRequest[actor=" + actor + ", volumeId=" + volumeId + ", action=" + action + ", targetKind="
                    + targetKind + ", value=" + value + ", markName=" + markName + ", credential="
                    + (credential.isEmpty() ? "none" : "***") + "]";
        }
    }

    /** Replayer to administrator: {@code done} of {@code total} undo records applied. */
    record AdminProgress(long done, long total) implements JourneyMessage {
        @Override
        public MessageType type() {
            return MessageType.ADMIN_PROGRESS;
        }
    }

    /**
     * Replayer to administrator: the request finished ({@code ok}) or was refused or failed;
     * {@code sequence} is the volume's applied sequence afterwards; the replayer then closes.
     */
    record AdminDone(boolean ok, long sequence, String message) implements JourneyMessage {
        public AdminDone {
            checkString("message", message);
        }

        @Override
        public MessageType type() {
            return MessageType.ADMIN_DONE;
        }
    }

    /**
     * Either direction inside a session: a control-plane message (replica state, chunk hashes),
     * Kryo-encoded by {@code ControlCodec}. The byte array is owned by the message.
     */
    record Control(byte[] body) implements JourneyMessage {
        public Control {
            Objects.requireNonNull(body, "body");
        }

        @Override
        public MessageType type() {
            return MessageType.CONTROL;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Control c && java.util.Arrays.equals(body, c.body);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(body);
        }

        @Override
        public String toString() {
            return "Control[bytes=" + body.length + "]";
        }
    }

    private static void checkU16(String field, int value) {
        if (value < 0 || value > 0xFFFF) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: 0..65535)");
        }
    }

    private static void checkString(String field, String value) {
        Objects.requireNonNull(value, field);
        int n = value.getBytes(StandardCharsets.UTF_8).length;
        if (n > JourneyProtocol.MAX_STRING_BYTES) {
            throw new IllegalArgumentException(
                    field + ": " + n + " UTF-8 bytes (expected: 0.." + JourneyProtocol.MAX_STRING_BYTES + ")");
        }
    }
}
