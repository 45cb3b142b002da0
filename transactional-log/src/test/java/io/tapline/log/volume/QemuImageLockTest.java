package io.tapline.log.volume;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU's image locks on an open volume, seen from another open file description (as a QEMU
 * process would see them), and a volume refused while another description holds QEMU's write
 * lock. A second open of the same image in this JVM is not refused (its locks are its own).
 */
class QemuImageLockTest {
    @TempDir
    Path tmp;

    @Test
    void anOpenVolumeHoldsBothBytesAndReleasesThemAtClose() throws Exception {
        Path image = tmp.resolve("v.img");
        int other = Libc.INSTANCE.open(image.toString(), 0102); // O_RDWR | O_CREAT, another open file description
        try {
            try (VolumeFile v = VolumeFile.openOrCreate(image, 1 << 20);
                    VolumeFile again = VolumeFile.openOrCreate(image, 1 << 20)) {
                assertTrue(QemuImageLock.heldByAnother(other, QemuImageLock.USES_WRITE_BYTE));
                assertTrue(QemuImageLock.heldByAnother(other, QemuImageLock.SHARES_NO_WRITE_BYTE));
                assertFalse(QemuImageLock.heldByAnother(other, 150), "only QEMU's two bytes");
            }
            assertFalse(QemuImageLock.heldByAnother(other, QemuImageLock.USES_WRITE_BYTE), "released at close");
            assertFalse(QemuImageLock.heldByAnother(other, QemuImageLock.SHARES_NO_WRITE_BYTE), "released at close");
        } finally {
            Libc.INSTANCE.close(other);
        }
    }

    @Test
    void aVolumeAnotherProgramWritesIsRefusedInOneLine() throws Exception {
        Path image = tmp.resolve("v.img");
        try (VolumeFile v = VolumeFile.openOrCreate(image, 1 << 20)) {
            // v stands for the other program (a QEMU process holds the same bytes); a new open file
            // description of this process is refused only by locks it does not share: none here.
        }
        int qemu = Libc.INSTANCE.open(image.toString(), 02);
        try {
            QemuImageLock.Flock usesWrite = new QemuImageLock.Flock();
            usesWrite.l_type = 0; // F_RDLCK, as QEMU takes it
            usesWrite.l_start = QemuImageLock.USES_WRITE_BYTE;
            usesWrite.l_len = 1;
            usesWrite.write();
            Libc.INSTANCE.fcntl(qemu, 37, usesWrite); // F_OFD_SETLK
            IOException e = assertThrows(IOException.class, () -> VolumeFile.openOrCreate(image, 1 << 20));
            assertTrue(e.getMessage().startsWith("image " + image + " is in use by another program that writes it"),
                    e.getMessage());
            assertFalse(e.getMessage().contains("\\n"));
        } finally {
            Libc.INSTANCE.close(qemu);
        }
        VolumeFile.openOrCreate(image, 1 << 20).close(); // once it let go
    }

    private interface Libc extends com.sun.jna.Library {
        Libc INSTANCE = Native.load("c", Libc.class);

        int open(String path, int flags);

        int close(int fd);

        int fcntl(int fd, int cmd, QemuImageLock.Flock lock);
    }
}
