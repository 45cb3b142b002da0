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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The wedge's watch for other programs' writes to its primary, with the wedge's own write counts played by the test. */
class PrimaryWatchTest {
    @TempDir
    Path dir;
    private Path primary;
    private final AtomicReference<PrimaryWrites> own = new AtomicReference<>(new PrimaryWrites(0, 0));

    private CaptureBuffer buffer;

    @BeforeEach
    void imageAndBuffer() throws Exception {
        primary = dir.resolve("primary.img");
        try (RandomAccessFile f = new RandomAccessFile(primary.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        buffer = CaptureBuffer.open(dir.resolve("buf"), "vol1", BufferConfig.ofMaxBytes(1 << 20, 64 << 20));
    }

    @AfterEach
    void closeBuffer() throws Exception {
        buffer.close();
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
        PrimaryWatch watch = new PrimaryWatch(primary, buffer, own::get, 0);
        assertNull(watch.look(), "the first look takes the baseline");
        assertNull(watch.look());
        scribble();
        String changed = watch.look();
        assertNotNull(changed, "another program wrote while the wedge was idle");
        assertEquals(WholeVolumeCause.PRIMARY_WRITTEN_WHILE_SERVED, buffer.changedChunks().wholeVolumeCause());
        assertNull(watch.look(), "reported once");
    }

    @Test
    void theWedgesOwnWritesAreNeverTakenForAnotherProgramsAndABusyLookDecidesNothing() throws Exception {
        PrimaryWatch watch = new PrimaryWatch(primary, buffer, own::get, 0);
        assertNull(watch.look());
        own.set(new PrimaryWrites(1, 0)); // a write of its own in progress
        scribble();
        assertNull(watch.look(), "busy: no decision");
        own.set(new PrimaryWrites(1, 1)); // it ended: the change may be its own
        assertNull(watch.look(), "a new baseline after the wedge's own write");
        assertNull(watch.look());
        assertNull(buffer.changedChunks().wholeVolumeCause(), "nothing tracked");
        scribble();
        assertNotNull(watch.look(), "a later change with no own write in between is someone else's");
    }

    @Test
    void aComparisonWaitsForItsTime() throws Exception {
        PrimaryWatch watch = new PrimaryWatch(primary, buffer, own::get,
                java.util.concurrent.TimeUnit.DAYS.toNanos(1));
        assertNull(watch.look(), "the first look takes the baseline");
        scribble();
        assertNull(watch.look(), "no comparison due yet");
        assertNull(buffer.changedChunks().wholeVolumeCause(), "a look every 20 ms compares once a second");
    }

    @Test
    void aDeletedPrimaryIsAChange() throws Exception {
        PrimaryWatch watch = new PrimaryWatch(primary, buffer, own::get, 0);
        assertNull(watch.look());
        Files.delete(primary);
        assertEquals("it is gone", watch.look());
    }
}
