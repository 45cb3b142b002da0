package io.tapline.journey;

/**
 * How a batch's record bytes are compressed when they compress at all: the codec and, for
 * Zstandard, its level. {@link BatchCodec} still sends bytes that do not shrink as they are.
 *
 * @param codec {@link Compression#LZ4} or {@link Compression#ZSTD}
 * @param level the Zstandard level (1..19); 0 for LZ4
 */
public record CompressionChoice(Compression codec, int level) {
    /** LZ4: cheap enough for any line this machine can fill. */
    public static final CompressionChoice LZ4 = new CompressionChoice(Compression.LZ4, 0);

    public CompressionChoice {
        if (codec == Compression.NONE) {
            throw new IllegalArgumentException("codec: NONE (expected: LZ4 or ZSTD; incompressible bytes are sent"
                    + " as they are anyway)");
        }
        if (codec == Compression.ZSTD ? level < 1 || level > 19 : level != 0) {
            throw new IllegalArgumentException("level: " + level + " (expected: " + (codec == Compression.ZSTD
                    ? "1..19" : "0") + " for " + codec + ")");
        }
    }

    /** Zstandard at {@code level}. */
    public static CompressionChoice zstd(int level) {
        return new CompressionChoice(Compression.ZSTD, level);
    }

    @Override
    public String toString() {
        return codec == Compression.ZSTD ? "zstd-" + level : "lz4";
    }
}
