package io.tapline.journey.control;

import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;

/**
 * The chunk hash both sides of a comparison use: xxHash64, seed 0, over the chunk's bytes (a
 * chunk that runs past the end of the volume covers only the bytes that exist). Fast enough to
 * hash at memory speed; a match is trusted as "same bytes" (2^-64 chance of a false match per
 * chunk). Thread-safe.
 */
public final class ChunkHash {
    private static final XXHash64 XX = XXHashFactory.fastestInstance().hash64();

    private ChunkHash() {
    }

    private static final java.util.concurrent.ConcurrentHashMap<Integer, Long> ZEROS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** The hash of {@code length} zero bytes (a hole), computed once per length. */
    public static long ofZeros(int length) {
        return ZEROS.computeIfAbsent(length, n -> of(new byte[n], 0, n));
    }

    /** The hash of {@code bytes[offset, offset + length)}. */
    public static long of(byte[] bytes, int offset, int length) {
        return XX.hash(bytes, offset, length, 0);
    }
}
