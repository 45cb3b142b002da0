package io.tapline.log.crash;

/** Deterministic payloads whose bytes depend on a key, so a mixed-up or invented record is noticed. */
final class Payloads {
    private Payloads() {
    }

    static byte[] of(long key, int length) {
        byte[] b = new byte[length];
        long x = key * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < length; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    /** Record sizes that cross 512-byte sectors and segment ends in varied ways. */
    static int length(long i) {
        return (int) ((i * 397) % 2900) + 1;
    }
}
