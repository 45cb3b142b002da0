package io.tapline.snoop;

import io.tapline.log.CaptureRecord;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** Applies capture records to a sparse image file, as the replayer would. */
final class ImageRebuilder {
    private ImageRebuilder() {
    }

    static void apply(List<CaptureRecord> records, Path image) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            for (CaptureRecord r : records) {
                switch (r.kind()) {
                    case WRITE -> {
                        f.seek(r.offsetBytes());
                        f.write(r.payload());
                    }
                    case WRITE_ZEROES, DISCARD -> {
                        byte[] zero = new byte[1 << 20];
                        for (long done = 0; done < r.lengthBytes(); done += zero.length) {
                            f.seek(r.offsetBytes() + done);
                            f.write(zero, 0, (int) Math.min(zero.length, r.lengthBytes() - done));
                        }
                    }
                    default -> {
                        // FLUSH, MARK, GAP change no bytes
                    }
                }
            }
        }
    }

    static byte[] read(Path image, long offset, int length) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
            byte[] b = new byte[length];
            f.seek(offset);
            f.readFully(b);
            return b;
        }
    }

    static String md5(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
