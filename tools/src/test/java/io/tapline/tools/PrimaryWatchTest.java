package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.ChangedChunks.WholeVolumeCause;
import io.tapline.log.volume.ChangeTimes;
import io.tapline.wedge.capture.VolumeSequencer.PrimaryWrites;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The wedge's watch for other programs' writes to its primary, with the wedge's own write counts played by the test. */
class PrimaryWatchTest {
    @TempDir
    Path dir;
    private Path primary;
    private final AtomicReference<PrimaryWrites> own = new AtomicReference<>(new PrimaryWrites(0, 0));

    @BeforeEach
    void image() throws Exception {
        primary = dir.resolve("primary.img");
        try (RandomAccessFile f = new RandomAccessFile(primary.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
    }

    private void scribble() throws Exception {
        ChangeTimes.movedPast(primary);
        try (RandomAccessFile f = new RandomAccessFile(primary.toFile(), "rw")) {
            f.seek(8192);
            f.write(0x5a);
        }
    }

    @Test
    void aChangeBetweenTwoIdleLooksWithNoOwnWriteIsAnotherProgramsAndTracksTheWholeVolume() throws Exception {
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("buf"), "vol1", BufferConfig.ofMaxBytes(1 << 20,
                64 << 20))) {
            PrimaryWatch watch = new PrimaryWatch(primary, buffer, own::get);
            assertNull(watch.check(), "the first look takes the baseline");
            assertNull(watch.check());
            scribble();
            String changed = watch.check();
            assertNotNull(changed, "another program wrote while the wedge was idle");
            assertEquals(WholeVolumeCause.PRIMARY_WRITTEN_WHILE_SERVED, buffer.changedChunks().wholeVolumeCause());
            assertNull(watch.check(), "reported once");
        }
    }

    @Test
    void theWedgesOwnWritesAreNeverTakenForAnotherProgramsAndABusyLookDecidesNothing() throws Exception {
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("buf"), "vol1", BufferConfig.ofMaxBytes(1 << 20,
                64 << 20))) {
            PrimaryWatch watch = new PrimaryWatch(primary, buffer, own::get);
            assertNull(watch.check());
            own.set(new PrimaryWrites(1, 0)); // a write of its own in progress
            scribble();
            assertNull(watch.check(), "busy: no decision");
            own.set(new PrimaryWrites(1, 1)); // it ended: the change may be its own
            assertNull(watch.check(), "a new baseline after the wedge's own write");
            assertNull(watch.check());
            assertNull(buffer.changedChunks().wholeVolumeCause(), "nothing tracked");
            scribble();
            assertNotNull(watch.check(), "a later change with no own write in between is someone else's");
        }
    }

    @Test
    void theImageAsTheWedgesWritesLeftItIsTheBaselineSoAChangeRightAfterThemIsSeen() throws Exception {
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("buf"), "vol1", BufferConfig.ofMaxBytes(1 << 20,
                64 << 20))) {
            PrimaryWatch watch = new PrimaryWatch(primary, buffer, own::get);
            assertNull(watch.check());
            scribble(); // the wedge's own write...
            own.set(new PrimaryWrites(1, 1));
            watch.ownWritesSettled(); // ...and the applying thread's look right after it
            scribble(); // another program, before the watch's next look
            assertNotNull(watch.check(), "not taken for the wedge's: its writes' image was taken before");
        }
    }

    @Test
    void aDeletedPrimaryIsAChange() throws Exception {
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("buf"), "vol1", BufferConfig.ofMaxBytes(1 << 20,
                64 << 20))) {
            PrimaryWatch watch = new PrimaryWatch(primary, buffer, own::get);
            assertNull(watch.check());
            Files.delete(primary);
            assertEquals("it is gone", watch.check());
        }
    }
}
