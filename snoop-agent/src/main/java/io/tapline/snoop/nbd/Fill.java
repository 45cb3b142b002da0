package io.tapline.snoop.nbd;

/** A fixed-size field being filled from stream chunks. */
final class Fill {
    byte[] bytes;
    int filled;

    void reset(int size) {
        bytes = new byte[size];
        filled = 0;
    }

    /** Copies what fits; returns how many bytes it took. */
    int take(byte[] b, int at, int n) {
        int k = Math.min(n, bytes.length - filled);
        System.arraycopy(b, at, bytes, filled, k);
        filled += k;
        return k;
    }

    boolean full() {
        return filled == bytes.length;
    }

    int u16(int at) {
        return ((bytes[at] & 0xFF) << 8) | (bytes[at + 1] & 0xFF);
    }

    long u32(int at) {
        return ((long) u16(at) << 16) | u16(at + 2);
    }

    long u64(int at) {
        return (u32(at) << 32) | u32(at + 4);
    }
}
