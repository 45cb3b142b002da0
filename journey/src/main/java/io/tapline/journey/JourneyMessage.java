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
     */
    record Hello(int protocolVersion, String sourceId, String volumeId, long volumeSizeBytes, int blockSizeBytes,
            String credential) implements JourneyMessage {
        public Hello {
            checkU16("protocolVersion", protocolVersion);
            checkString("sourceId", sourceId);
            checkString("volumeId", volumeId);
            checkString("credential", credential);
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
                    + ", credential=" + (credential.isEmpty() ? "none" : "***") + "]";
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
