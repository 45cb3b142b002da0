package io.tapline.log;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * Encodes and decodes {@link CaptureRecord}s: the same bytes on disk (capture buffer segments)
 * and on the wire (journey link batches). Big-endian.
 *
 * <pre>
 * offset  size  field
 *   0      4    recordLength  L: bytes after this field (the record is 4 + L bytes)
 *   4      4    crc32c        CRC-32C (Castagnoli) of bytes [8, 4 + L)
 *   8      1    formatVersion 1
 *   9      1    kind          RecordKind wire value
 *  10      2    flags         bit 0 FUA, bit 1 NO_HOLE
 *  12      8    sequence      dense per volume, from 1
 *  20      8    captureTime   UTC nanoseconds since the epoch
 *  28      8    offsetBytes
 *  36      8    lengthBytes
 *  44      4    payloadLength P
 *  48      1    volumeIdLength n (1..255)
 *  49      n    volumeId      UTF-8
 *  49+n    1    bus           Bus wire value
 *  50+n    2    opcode        SCSI opcode or NBD command type
 *  52+n    8    tag           iSCSI ITT or NBD cookie
 *  60+n    4    cmdSn         iSCSI CmdSN, else 0
 *  64+n    1    initiatorLength i
 *  65+n    i    initiator     UTF-8
 *  65+n+i  1    targetLength  t
 *  66+n+i  t    target        UTF-8
 *  66+n+i+t P   payload
 * </pre>
 *
 * <p>Stateless and thread-safe. The reference copy of this table is {@code docs/formats.md}.
 */
public final class RecordCodec {
    /** The only record format version this code reads and writes. */
    public static final int FORMAT_VERSION = 1;
    /** Bytes of a record before the variable parts (volume id, addresses, payload). */
    public static final int FIXED_BYTES = 66;
    /** Largest payload a record may carry (64 MiB), a sanity bound for readers of damaged data. */
    public static final int MAX_PAYLOAD_BYTES = 64 << 20;
    /** Offsets in an encoded record of the fields read where they lie (see the table above). */
    private static final int CRC_AT = 4;
    private static final int VERSION_AT = 8;
    private static final int SEQUENCE_AT = 12;
    private static final int PAYLOAD_LENGTH_AT = 44;
    private static final int VOLUME_ID_LENGTH_AT = 48;
    /** The initiator's length byte follows the volume id by this much. */
    private static final int INITIATOR_LENGTH_AFTER_VOLUME_AT = 16;

    /** Largest recordLength accepted. */
    public static final int MAX_RECORD_LENGTH = MAX_PAYLOAD_BYTES + FIXED_BYTES + 3 * 255;

    private RecordCodec() {
    }

    /** Encoded size in bytes of the record, length field included. */
    public static int encodedSize(CaptureRecord r) {
        return headerSize(r) + r.payload().length;
    }

    /** Encoded size of everything but the payload. */
    public static int headerSize(CaptureRecord r) {
        return FIXED_BYTES + utf8Length(r.volumeId()) + utf8Length(r.provenance().initiator())
                + utf8Length(r.provenance().target());
    }

    /**
     * UTF-8 length of {@code s} without encoding it when it is ASCII (volume ids and addresses
     * nearly always are): sizes are asked for per record on the capture and shipping paths.
     */
    public static int utf8Length(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return s.getBytes(StandardCharsets.UTF_8).length;
            }
        }
        return s.length();
    }

    /** Writes the whole record at {@code dst}'s position, advancing it. */
    public static void encode(CaptureRecord r, ByteBuffer dst) {
        writeHeader(r, dst);
        dst.put(r.payload());
    }

    /** Returns the record's encoding as a new array. */
    public static byte[] encode(CaptureRecord r) {
        ByteBuffer buf = ByteBuffer.allocate(encodedSize(r));
        encode(r, buf);
        return buf.array();
    }

    /**
     * Writes everything but the payload, so that the payload can follow in a gathering write
     * without being copied.
     */
    public static void writeHeader(CaptureRecord r, ByteBuffer dst) {
        byte[] volume = utf8(r.volumeId());
        byte[] initiator = utf8(r.provenance().initiator());
        byte[] target = utf8(r.provenance().target());
        checkText("volumeId", volume, 1);
        checkText("initiator", initiator, 0);
        checkText("target", target, 0);
        int total = FIXED_BYTES + volume.length + initiator.length + target.length + r.payload().length;
        dst.putInt(total - 4);
        dst.putInt(r.crc32c());
        putBody(r, dst, volume, initiator, target);
    }

    /** CRC-32C of the encoded record body (bytes 8 to the end), computed without encoding the payload twice. */
    public static int computeCrc(CaptureRecord r) {
        byte[] volume = utf8(r.volumeId());
        byte[] initiator = utf8(r.provenance().initiator());
        byte[] target = utf8(r.provenance().target());
        ByteBuffer head = ByteBuffer.allocate(FIXED_BYTES - 8 + volume.length + initiator.length + target.length);
        putBody(r, head, volume, initiator, target);
        CRC32C crc = new CRC32C();
        crc.update(head.array(), 0, head.position());
        crc.update(r.payload());
        return (int) crc.getValue();
    }

    /**
     * Reads the record length field at {@code buf}'s position without moving it.
     *
     * @return the total encoded size (4 + recordLength), or -1 when fewer than 4 bytes remain
     * @throws RecordFormatException when the length is out of range
     */
    public static int peekTotalSize(ByteBuffer buf) {
        if (buf.remaining() < 4) {
            return -1;
        }
        int length = buf.getInt(buf.position());
        if (length < FIXED_BYTES - 4 + 1 || length > MAX_RECORD_LENGTH) {
            throw new RecordFormatException(
                    "recordLength: " + length + " (expected: " + (FIXED_BYTES - 3) + ".." + MAX_RECORD_LENGTH + ")");
        }
        return 4 + length;
    }

    /**
     * Decodes one whole record at {@code src}'s position, advancing it past the record, and
     * verifies its CRC-32C.
     *
     * @throws RecordFormatException when the bytes are not a valid record; {@code src}'s
     *         position is then unspecified
     */
    public static CaptureRecord decode(ByteBuffer src) {
        int total = peekTotalSize(src);
        if (total < 0 || src.remaining() < total) {
            throw new RecordFormatException("record: " + src.remaining() + " bytes available (expected: "
                    + (total < 0 ? 4 : total) + ")");
        }
        int start = src.position();
        int end = start + total;
        ByteBuffer body = src.duplicate().limit(end);
        body.position(start + 4);
        try {
            int crc = body.getInt();
            int version = body.get() & 0xFF;
            if (version != FORMAT_VERSION) {
                throw new RecordFormatException(
                        "formatVersion: " + version + " (expected: " + FORMAT_VERSION + ")");
            }
            RecordKind kind = RecordKind.fromWireValue(body.get() & 0xFF);
            int flags = body.getShort() & 0xFFFF;
            long sequence = body.getLong();
            long time = body.getLong();
            long offset = body.getLong();
            long length = body.getLong();
            int payloadLength = body.getInt();
            String volume = readText(body);
            Bus bus = Bus.fromWireValue(body.get() & 0xFF);
            int opcode = body.getShort() & 0xFFFF;
            long tag = body.getLong();
            int cmdSn = body.getInt();
            String initiator = readText(body);
            String target = readText(body);
            if (payloadLength < 0 || payloadLength != body.remaining()) {
                throw new RecordFormatException("payloadLength: " + payloadLength + " (expected: "
                        + body.remaining() + " from recordLength)");
            }
            // The CRC is checked over the bytes as they arrived (as Kafka checks a batch), not by
            // encoding the decoded record again: that cost a header encoding and three UTF-8
            // conversions per record, most of the decode of a batch of 4 KiB writes.
            CRC32C actual = new CRC32C();
            actual.update(src.duplicate().limit(end).position(start + 8));
            if ((int) actual.getValue() != crc) {
                throw new RecordFormatException(String.format("crc32c: 0x%08x (expected: 0x%08x) volume=%s seq=%d",
                        (int) actual.getValue(), crc, volume, sequence));
            }
            byte[] payload = new byte[payloadLength];
            body.get(payload);
            CaptureRecord record = new CaptureRecord(volume, sequence, time, kind, offset, length, flags,
                    new Provenance(bus, initiator, target, tag, cmdSn, opcode), payload, crc);
            src.position(end);
            return record;
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new RecordFormatException("record: " + e.getMessage() + " (expected: a well-formed record)");
        }
    }

    /**
     * Checks one whole encoded record, {@code record}'s position to its limit, as {@link #decode}
     * does (length, format version, lengths of its parts, CRC-32C) without decoding it, and
     * returns its sequence number. For readers that pass records on as they are stored (the
     * shipper packs the buffer's bytes into a batch). Positions are not moved.
     *
     * @throws RecordFormatException when the bytes are not one valid record
     */
    public static long verifyEncoded(ByteBuffer record) {
        int start = record.position();
        int total = peekTotalSize(record);
        if (total != record.remaining()) {
            throw new RecordFormatException("record: " + record.remaining() + " bytes (expected: "
                    + (total < 0 ? "at least 4" : total + " from recordLength") + ")");
        }
        int version = record.get(start + VERSION_AT) & 0xFF;
        if (version != FORMAT_VERSION) {
            throw new RecordFormatException("formatVersion: " + version + " (expected: " + FORMAT_VERSION + ")");
        }
        int payloadLength = record.getInt(start + PAYLOAD_LENGTH_AT);
        int n = record.get(start + VOLUME_ID_LENGTH_AT) & 0xFF;
        int at = start + VOLUME_ID_LENGTH_AT + INITIATOR_LENGTH_AFTER_VOLUME_AT + n;
        int i = at < start + total ? record.get(at) & 0xFF : -1;
        int t = i >= 0 && at + 1 + i < start + total ? record.get(at + 1 + i) & 0xFF : -1;
        if (t < 0 || (long) FIXED_BYTES + n + i + t + payloadLength != total) {
            throw new RecordFormatException("payloadLength: " + payloadLength + " (expected: the rest of "
                    + total + " bytes from recordLength)");
        }
        long sequence = sequenceOf(record);
        int crc = record.getInt(start + CRC_AT);
        CRC32C actual = new CRC32C();
        actual.update(record.duplicate().position(start + VERSION_AT));
        if ((int) actual.getValue() != crc) {
            throw new RecordFormatException(String.format("crc32c: 0x%08x (expected: 0x%08x) seq=%d",
                    (int) actual.getValue(), crc, sequence));
        }
        return sequence;
    }

    /** The sequence number of the encoded record at {@code record}'s position (not checked). */
    public static long sequenceOf(ByteBuffer record) {
        return record.getLong(record.position() + SEQUENCE_AT);
    }

    /**
     * Whether the encoded record at {@code record}'s position belongs to the volume whose id
     * encodes to {@code volumeIdUtf8}; positions are not moved.
     */
    public static boolean hasVolumeId(ByteBuffer record, byte[] volumeIdUtf8) {
        int at = record.position() + VOLUME_ID_LENGTH_AT;
        if ((record.get(at) & 0xFF) != volumeIdUtf8.length) {
            return false;
        }
        for (int i = 0; i < volumeIdUtf8.length; i++) { // per record on the shipping path: no allocation
            if (record.get(at + 1 + i) != volumeIdUtf8[i]) {
                return false;
            }
        }
        return true;
    }

    private static void putBody(CaptureRecord r, ByteBuffer dst, byte[] volume, byte[] initiator, byte[] target) {
        Provenance p = r.provenance();
        dst.put((byte) FORMAT_VERSION);
        dst.put((byte) r.kind().wireValue());
        dst.putShort((short) r.flags());
        dst.putLong(r.sequence());
        dst.putLong(r.captureTimeNanos());
        dst.putLong(r.offsetBytes());
        dst.putLong(r.lengthBytes());
        dst.putInt(r.payload().length);
        dst.put((byte) volume.length).put(volume);
        dst.put((byte) p.bus().wireValue());
        dst.putShort((short) p.opcode());
        dst.putLong(p.tag());
        dst.putInt(p.cmdSn());
        dst.put((byte) initiator.length).put(initiator);
        dst.put((byte) target.length).put(target);
    }

    private static String readText(ByteBuffer body) {
        int n = body.get() & 0xFF;
        byte[] bytes = new byte[n];
        body.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void checkText(String field, byte[] bytes, int min) {
        if (bytes.length < min || bytes.length > 255) {
            throw new IllegalArgumentException(
                    field + ": " + bytes.length + " UTF-8 bytes (expected: " + min + "..255)");
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
