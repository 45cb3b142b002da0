package io.tapline.log.volume;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * What an image file looked like when Tapline last closed it: device, inode, size and change time
 * ({@code st_ctime}, which every write, truncation, rename or metadata change moves and no user
 * tool can set back). Written when the owner closes the image cleanly, compared and removed when
 * it opens it again: a difference means another program wrote (or replaced, resized, touched) the
 * image while Tapline did not hold it, so its copies elsewhere may differ, and the caller makes a
 * resync compare every chunk. Without a stamp (the first run, or a crash) nothing is claimed either
 * way; the crash paths have their own tracking.
 *
 * <p>Only regular files are stamped: a block device's node does not change when the device is
 * written, so {@link #of} returns null for anything else.
 *
 * <p>File format (one line of ASCII, replaced atomically): {@code tapline-image-stamp 1 dev=D ino=I
 * size=S ctime=NANOS mtime=NANOS crc32c=HEX}, the CRC over the text before {@code " crc32c="}.
 * A file that does not parse is reported as a difference, never as "unchanged".
 *
 * @param device    {@code st_dev}
 * @param inode     {@code st_ino}
 * @param sizeBytes {@code st_size}
 * @param ctimeNanos {@code st_ctime} in nanoseconds since the epoch
 * @param mtimeNanos {@code st_mtime} in nanoseconds since the epoch (reported, not compared)
 */
public record ImageStamp(long device, long inode, long sizeBytes, long ctimeNanos, long mtimeNanos) {
    private static final String MAGIC = "tapline-image-stamp 1";
    private static final int MAX_BYTES = 512;

    /** The stamp of {@code image} as it is now, or null when it is not a regular file. */
    public static ImageStamp of(Path image) throws IOException {
        Map<String, Object> a = Files.readAttributes(image, "unix:dev,ino,size,ctime,lastModifiedTime,isRegularFile");
        if (!Boolean.TRUE.equals(a.get("isRegularFile"))) {
            return null;
        }
        return new ImageStamp(((Number) a.get("dev")).longValue(), ((Number) a.get("ino")).longValue(),
                ((Number) a.get("size")).longValue(), nanos((FileTime) a.get("ctime")),
                nanos((FileTime) a.get("lastModifiedTime")));
    }

    /**
     * Stamps {@code image} as it is now into {@code stampFile} (atomic, durable); nothing for an
     * image that is not a regular file.
     */
    public static void write(Path stampFile, Path image) throws IOException {
        ImageStamp now = of(image);
        if (now != null) {
            String body = MAGIC + " dev=" + now.device + " ino=" + now.inode + " size=" + now.sizeBytes + " ctime="
                    + now.ctimeNanos + " mtime=" + now.mtimeNanos;
            DurableFiles.replace(stampFile, (body + " crc32c=" + Long.toHexString(crc(body)) + "\n")
                    .getBytes(StandardCharsets.US_ASCII));
        }
    }

    /**
     * Compares the stamp in {@code stampFile} with {@code image} as it is now.
     *
     * @return null when there is no stamp, the image is not a regular file, or nothing differs;
     *         otherwise one line saying what differs (for logs, status and the audit)
     */
    public static String changedSince(Path stampFile, Path image) throws IOException {
        ByteBuffer raw;
        try {
            raw = DurableFiles.readSmallFile(stampFile, MAX_BYTES);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return "its close-time stamp " + stampFile + " is unreadable (" + e.getMessage() + ")";
        }
        ImageStamp then = parse(StandardCharsets.US_ASCII.decode(raw).toString());
        if (then == null) {
            return "its close-time stamp " + stampFile + " is damaged";
        }
        return then.changedSince(image);
    }

    /**
     * What differs between this stamp and {@code image} as it is now: null when nothing does (or
     * the image is not a regular file), else one line ({@code "it is gone"} when it was deleted).
     */
    public String changedSince(Path image) throws IOException {
        ImageStamp now;
        try {
            now = of(image);
        } catch (NoSuchFileException e) {
            return "it is gone";
        }
        return now == null ? null : differences(now);
    }

    /** Removes the stamp (durably): from now on the owner writes the image, until its next clean close. */
    public static void remove(Path stampFile) throws IOException {
        if (Files.deleteIfExists(stampFile)) {
            DurableFiles.syncDirectory(stampFile.toAbsolutePath().getParent());
        }
    }

    /** What differs from {@code now}, or null when the image is the one stamped. */
    public String differences(ImageStamp now) {
        List<String> d = new ArrayList<>();
        if (device != now.device || inode != now.inode) {
            d.add("replaced by another file (device " + device + " inode " + inode + " then, device " + now.device
                    + " inode " + now.inode + " now)");
        }
        if (sizeBytes != now.sizeBytes) {
            d.add("size " + sizeBytes + " bytes then, " + now.sizeBytes + " now");
        }
        if (ctimeNanos != now.ctimeNanos && d.isEmpty()) {
            d.add("changed at " + instant(now.ctimeNanos) + " (last written " + instant(now.mtimeNanos)
                    + "), after Tapline's own last change at " + instant(ctimeNanos));
        }
        return d.isEmpty() ? null : String.join(", ", d);
    }

    /** The stamp a line holds, or null when it is not one (torn, edited, another version). */
    static ImageStamp parse(String text) {
        String line = text.strip();
        int crcAt = line.lastIndexOf(" crc32c=");
        if (!line.startsWith(MAGIC + " ") || crcAt < 0) {
            return null;
        }
        String body = line.substring(0, crcAt);
        try {
            if (Long.parseUnsignedLong(line.substring(crcAt + 8), 16) != crc(body)) {
                return null;
            }
            long[] v = new long[5];
            String[] names = {"dev=", "ino=", "size=", "ctime=", "mtime="};
            String[] fields = body.substring(MAGIC.length() + 1).split(" ");
            if (fields.length != names.length) {
                return null;
            }
            for (int i = 0; i < names.length; i++) {
                if (!fields[i].startsWith(names[i])) {
                    return null;
                }
                v[i] = Long.parseLong(fields[i].substring(names[i].length()));
            }
            return new ImageStamp(v[0], v[1], v[2], v[3], v[4]);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static long crc(String body) {
        CRC32C c = new CRC32C();
        c.update(body.getBytes(StandardCharsets.US_ASCII));
        return c.getValue();
    }

    private static long nanos(FileTime t) {
        Instant i = t.toInstant();
        return TimeUnit.SECONDS.toNanos(i.getEpochSecond()) + i.getNano();
    }

    private static Instant instant(long nanos) {
        return Instant.ofEpochSecond(Math.floorDiv(nanos, 1_000_000_000L), Math.floorMod(nanos, 1_000_000_000L));
    }
}
