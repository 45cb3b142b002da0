package io.tapline.log.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image's close-time stamp: reading it back unchanged, and each way another program can
 * change the image (a write, a truncation to the same size, new permissions, a copy put in its
 * place, a deletion) reported; a damaged stamp is a difference, a missing one is no claim.
 */
class ImageStampTest {
    @TempDir
    Path tmp;

    private Path image;
    private Path stamp;

    @BeforeEach
    void stampedImage() throws Exception {
        image = tmp.resolve("primary.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(1 << 20);
            f.write(new byte[] {1, 2, 3});
        }
        stamp = tmp.resolve("primary.stamp");
        ImageStamp.write(stamp, image);
        ChangeTimes.movedPast(image);
    }

    @Test
    void anImageLeftAloneIsUnchangedAndReadsDoNotCount() throws Exception {
        Files.readAllBytes(image);
        assertNull(ImageStamp.changedSince(stamp, image));
        assertNull(ImageStamp.changedSince(tmp.resolve("none.stamp"), image), "no stamp: no claim");
    }

    @Test
    void aWriteIsAChange() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(4096);
            f.write(7);
        }
        assertTrue(ImageStamp.changedSince(stamp, image).startsWith("changed at "), ImageStamp.changedSince(stamp, image));
    }

    @Test
    void aTruncationToTheSameSizeAndNewPermissionsAreChanges() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        assertNotNull(ImageStamp.changedSince(stamp, image));
        ImageStamp.write(stamp, image);
        ChangeTimes.movedPast(image);
        Files.setPosixFilePermissions(image, EnumSet.of(PosixFilePermission.OWNER_READ));
        assertNotNull(ImageStamp.changedSince(stamp, image));
    }

    @Test
    void aResizedOrReplacedOrDeletedImageIsNamedSo() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(2 << 20);
        }
        assertEquals("size 1048576 bytes then, 2097152 now", ImageStamp.changedSince(stamp, image));
        ImageStamp.write(stamp, image);
        Path copy = tmp.resolve("restored.img");
        Files.copy(image, copy);
        Files.move(copy, image, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertTrue(ImageStamp.changedSince(stamp, image).startsWith("replaced by another file"),
                ImageStamp.changedSince(stamp, image));
        Files.delete(image);
        assertEquals("it is gone", ImageStamp.changedSince(stamp, image));
    }

    @Test
    void aDamagedStampIsADifferenceNeverUnchanged() throws Exception {
        String text = Files.readString(stamp, StandardCharsets.US_ASCII);
        assertNotNull(ImageStamp.parse(text));
        for (String damaged : new String[] {text.substring(0, text.length() / 2), text.replace("size=", "size=1"),
                text.replace("stamp 1", "stamp 2"), "", text.replaceFirst("crc32c=[0-9a-f]+", "crc32c=zz")}) {
            Files.writeString(stamp, damaged, StandardCharsets.US_ASCII);
            String why = ImageStamp.changedSince(stamp, image);
            assertTrue(why != null && why.contains("is damaged"), damaged + " -> " + why);
        }
    }

    @Test
    void onlyRegularFilesAreStampedAndRemovalIsIdempotent() throws Exception {
        assertNull(ImageStamp.of(Path.of("/dev/null")));
        Path none = tmp.resolve("dev.stamp");
        ImageStamp.write(none, Path.of("/dev/null"));
        assertFalse(Files.exists(none));
        ImageStamp.remove(stamp);
        ImageStamp.remove(stamp);
        assertFalse(Files.exists(stamp));
    }
}
