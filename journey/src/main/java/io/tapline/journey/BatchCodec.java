package io.tapline.journey;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import io.tapline.log.RecordFormatException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import com.github.luben.zstd.Zstd;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Packs consecutive {@link CaptureRecord}s into a {@link JourneyMessage.Batch} and unpacks them
 * again, checking everything a batch promises: the CRC-32C of the uncompressed record bytes, the
 * record count, dense ascending sequence numbers and each record's own CRC-32C.
 *
 * <p>The shipper chooses the codec ({@link CompressionChoice}: LZ4, or Zstandard when the line
 * is the limit); it is used only when it saves at least {@link #MIN_SAVING_PERCENT} percent,
 * otherwise the record bytes travel as they are. Batches over 256 KiB are first judged by an LZ4
 * pass over a 64 KiB sample, so incompressible data is not compressed in vain.
 *
 * <p>Stateless and thread-safe.
 */
public final class BatchCodec {
    /** Compression is used only when it shrinks the bytes by at least this much. */
    public static final int MIN_SAVING_PERCENT = 10;
    /** Batches smaller than this are not worth compressing. */
    static final int MIN_COMPRESS_BYTES = 512;
    /** Size of the sample that decides whether a large batch is compressed at all. */
    static final int SAMPLE_BYTES = 64 << 10;

    private static final LZ4Factory LZ4 = LZ4Factory.fastestInstance();

    private BatchCodec() {
    }

    /**
     * Builds a batch of {@code records}, which must be non-empty, of one volume, with dense
     * ascending sequence numbers.
     */
    public static JourneyMessage.Batch pack(long batchId, List<CaptureRecord> records) {
        return pack(batchId, records, CompressionChoice.LZ4);
    }

    /**
     * Builds a batch of {@code records} (non-empty, one volume, dense ascending sequence numbers),
     * compressed with {@code choice} when that saves enough.
     */
    public static JourneyMessage.Batch pack(long batchId, List<CaptureRecord> records, CompressionChoice choice) {
        if (records.isEmpty()) {
            throw new IllegalArgumentException("records: 0 (expected: >= 1)");
        }
        long size = 0;
        for (int i = 0; i < records.size(); i++) {
            CaptureRecord r = records.get(i);
            if (i > 0 && r.sequence() != records.get(i - 1).sequence() + 1) {
                throw new IllegalArgumentException("records[" + i + "].sequence: " + r.sequence() + " (expected: "
                        + (records.get(i - 1).sequence() + 1) + ", dense)");
            }
            size += r.encodedSize();
        }
        if (size > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("records: " + size + " bytes (expected: < 2 GiB)");
        }
        ByteBuffer raw = ByteBuffer.allocate((int) size);
        for (CaptureRecord r : records) {
            RecordCodec.encode(r, raw);
        }
        byte[] bytes = raw.array();
        int crc = crc32c(bytes, 0, bytes.length);
        Compression compression = Compression.NONE;
        byte[] body = bytes;
        byte[] compressed = compress(bytes, choice);
        if (compressed != null) {
            compression = choice.codec();
            body = compressed;
        }
        return new JourneyMessage.Batch(batchId, records.get(0).sequence(), records.get(records.size() - 1).sequence(),
                records.size(), compression, bytes.length, crc, body);
    }

    /**
     * Decompresses and checks a batch and decodes its records, verifying each record's CRC-32C.
     * Nothing is returned unless every check passes.
     *
     * @throws JourneyProtocolException naming the batch and the failed check
     */
    public static List<CaptureRecord> unpack(JourneyMessage.Batch batch) {
        byte[] bytes = uncompressed(batch);
        int actual = crc32c(bytes, 0, bytes.length);
        if (actual != batch.crc32c()) {
            throw new JourneyProtocolException(String.format("batch crc32c: 0x%08x (expected: 0x%08x) batch=%d",
                    actual, batch.crc32c(), batch.batchId()));
        }
        List<CaptureRecord> records = new ArrayList<>(Math.min(batch.recordCount(), 1 << 16));
        ByteBuffer src = ByteBuffer.wrap(bytes);
        long expected = batch.firstSequence();
        while (src.hasRemaining()) {
            CaptureRecord r;
            try {
                r = RecordCodec.decode(src);
            } catch (RecordFormatException e) {
                throw new JourneyProtocolException("batch=" + batch.batchId() + " record #" + records.size()
                        + " (expected seq " + expected + "): " + e.getMessage(), e);
            }
            if (r.sequence() != expected) {
                throw new JourneyProtocolException("batch=" + batch.batchId() + " record #" + records.size()
                        + " sequence: " + r.sequence() + " (expected: " + expected + ")");
            }
            records.add(r);
            expected++;
        }
        if (records.size() != batch.recordCount()) {
            throw new JourneyProtocolException("batch=" + batch.batchId() + " records: " + records.size()
                    + " (expected: recordCount " + batch.recordCount() + ")");
        }
        return records;
    }

    /** CRC-32C (Castagnoli) of a byte range. */
    public static int crc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }

    private static byte[] uncompressed(JourneyMessage.Batch batch) {
        return switch (batch.compression()) {
            case NONE -> batch.body();
            case LZ4 -> decompress(batch);
            case ZSTD -> decompressZstd(batch);
        };
    }

    private static byte[] compress(byte[] bytes, CompressionChoice choice) {
        if (!compressible(bytes.length)) {
            return null;
        }
        if (sampled(bytes.length) && !worthCompressing(bytes, sampleOffset(bytes.length))) {
            return null;
        }
        byte[] out = new byte[maxCompressedLength(bytes.length, choice)];
        int n = compress(bytes, bytes.length, choice, out);
        return n < 0 ? null : java.util.Arrays.copyOf(out, n);
    }

    /** Whether a batch of {@code length} record bytes is compressed at all, sample aside. */
    static boolean compressible(int length) {
        return length >= MIN_COMPRESS_BYTES;
    }

    /** Whether a batch of {@code length} bytes is first judged by a sample ({@link #worthCompressing}). */
    static boolean sampled(int length) {
        return length > 4 * SAMPLE_BYTES;
    }

    /** Where the sample of a batch of {@code length} bytes starts: its middle. */
    static int sampleOffset(int length) {
        return length / 2 - SAMPLE_BYTES / 2;
    }

    /** Room {@link #compress(byte[], int, CompressionChoice, byte[])} needs for {@code length} bytes. */
    static int maxCompressedLength(int length, CompressionChoice choice) {
        return choice.codec() == Compression.ZSTD ? (int) Zstd.compressBound(length)
                : LZ4.fastCompressor().maxCompressedLength(length);
    }

    /**
     * Compresses {@code src[0, length)} into {@code out} (at least {@link #maxCompressedLength}
     * long); returns the compressed length, or -1 when it saves less than
     * {@link #MIN_SAVING_PERCENT} percent.
     */
    static int compress(byte[] src, int length, CompressionChoice choice, byte[] out) {
        int n;
        if (choice.codec() == Compression.ZSTD) {
            long r = Zstd.compressByteArray(out, 0, out.length, src, 0, length, choice.level());
            if (Zstd.isError(r)) {
                throw new IllegalStateException("zstd compress: " + Zstd.getErrorName(r));
            }
            n = (int) r;
        } else {
            n = LZ4.fastCompressor().compress(src, 0, length, out, 0, out.length);
        }
        long saved = length - (long) n;
        return saved * 100 < (long) length * MIN_SAVING_PERCENT ? -1 : n;
    }

    /**
     * Compresses a sample from the middle of a large batch first: data that does not compress
     * (encrypted or already compressed volumes) then costs one sample, not the whole batch.
     * {@code bytes[from, from + SAMPLE_BYTES)} is the sample.
     */
    static boolean worthCompressing(byte[] bytes, int from) {
        LZ4Compressor compressor = LZ4.fastCompressor();
        byte[] out = new byte[compressor.maxCompressedLength(SAMPLE_BYTES)];
        int n = compressor.compress(bytes, from, SAMPLE_BYTES, out, 0, out.length);
        return (SAMPLE_BYTES - (long) n) * 100 >= (long) SAMPLE_BYTES * MIN_SAVING_PERCENT;
    }

    private static byte[] decompressZstd(JourneyMessage.Batch batch) {
        byte[] out = new byte[batch.uncompressedLength()];
        long n;
        try {
            n = Zstd.decompressByteArray(out, 0, out.length, batch.body(), 0, batch.body().length);
        } catch (com.github.luben.zstd.ZstdException e) {
            n = e.getErrorCode() == 0 ? -1 : e.getErrorCode(); // some versions throw, others return the code
        }
        if (n < 0 || Zstd.isError(n)) {
            throw new JourneyProtocolException("batch=" + batch.batchId() + " zstd: "
                    + (n < 0 ? "damaged frame" : Zstd.getErrorName(n)) + " (expected: a valid Zstandard frame of "
                    + batch.uncompressedLength() + " bytes)");
        }
        if (n != out.length) {
            throw new JourneyProtocolException("batch=" + batch.batchId() + " uncompressed: " + n
                    + " bytes (expected: uncompressedLength " + out.length + ")");
        }
        return out;
    }

    private static byte[] decompress(JourneyMessage.Batch batch) {
        LZ4SafeDecompressor decompressor = LZ4.safeDecompressor();
        byte[] out = new byte[batch.uncompressedLength()];
        int n;
        try {
            n = decompressor.decompress(batch.body(), 0, batch.body().length, out, 0, out.length);
        } catch (LZ4Exception e) {
            throw new JourneyProtocolException("batch=" + batch.batchId() + " lz4: " + e.getMessage()
                    + " (expected: a valid LZ4 block of " + batch.uncompressedLength() + " bytes)", e);
        }
        if (n != out.length) {
            throw new JourneyProtocolException("batch=" + batch.batchId() + " uncompressed: " + n
                    + " bytes (expected: uncompressedLength " + out.length + ")");
        }
        return out;
    }
}
