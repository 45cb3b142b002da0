package io.tapline.snoop.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link VolumeRouter#alsoShipOver}: a volume's extra link (Kafka) starts, reports and closes like its shippers. */
class VolumeRouterLinkTest {
    @TempDir
    Path dir;

    /** A link that records what the router did with it. */
    private static final class FakeLink implements io.tapline.journey.source.SourceLink {
        final String volume;
        final long sizeBytes;
        final CaptureBuffer buffer;
        boolean closed;

        FakeLink(String volume, long sizeBytes, CaptureBuffer buffer) {
            this.volume = volume;
            this.sizeBytes = sizeBytes;
            this.buffer = buffer;
        }

        @Override
        public ShipperStatus status() {
            return new ShipperStatus("kafka", "kafka://b/t." + volume, true, 0, 0, 0, "", null);
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private final List<FakeLink> started = new ArrayList<>();

    private VolumeRouter router(long fallbackSizeBytes) {
        VolumeRouter router = new VolumeRouter(new VolumeRouter.Settings(dir, BufferConfig.DEFAULT, List.of(), "src",
                fallbackSizeBytes, new VolumeNames(List.of("nbd:*=vol1"))));
        router.assumeBlankTargets(true);
        router.alsoShipOver((volume, size, blockSize, buffer) -> {
            FakeLink l = new FakeLink(volume, size, buffer);
            started.add(l);
            return l;
        });
        return router;
    }

    @Test
    void aStandInWithoutASizeFailsNoImport() {
        // Probe S S4: a connection joined mid-stream (--nbd-port) made a stand-in volume whose size never
        // showed, and the import failed with "cannot ship ... expected: --volume-size", a phantom's.
        VolumeRouter router = router(-1);
        VolumeKey key = VolumeKey.nbd("127.0.0.1:10809", "");
        router.standIn(key);
        router.completed(key, RecordKind.WRITE, 0, 512, 0, Provenance.INTERNAL, new byte[512]);
        assertEquals(List.of(), router.unshippedVolumes());
    }

    @Test
    void aVolumeWithoutRemotesShipsOverItsLinkOnceItsSizeIsKnown() {
        VolumeRouter router = router(-1);
        VolumeKey key = VolumeKey.nbd("127.0.0.1:10809", "");
        router.completed(key, RecordKind.WRITE, 0, 512, 0, Provenance.INTERNAL, new byte[512]);
        assertEquals(List.of("vol1"), router.unshippedVolumes(), "no size yet: named as not shipping");
        assertEquals(VolumeRouter.NO_SIZE, router.sides().get(0).notShippingBecause(), "and status is told why");
        assertTrue(started.isEmpty());
        router.geometry(key, 1 << 20, 512);
        assertEquals(null, router.sides().get(0).notShippingBecause(), "cleared once it ships");
        assertEquals(1, started.size());
        assertEquals("vol1", started.get(0).volume);
        assertEquals(1 << 20, started.get(0).sizeBytes);
        assertEquals(router.buffer("vol1"), started.get(0).buffer);
        assertEquals(List.of(), router.unshippedVolumes());
        router.geometry(key, 1 << 20, 512);
        assertEquals(1, started.size(), "started once");
        assertEquals("kafka", router.shippingProgress().get(0).links().get(0).remoteId());
        assertEquals(1, router.sides().get(0).linkStatuses().size());
        router.close();
        assertTrue(started.get(0).closed, "closed with the router");
    }

    @Test
    void theFallbackSizeStartsTheLinkAtTheFirstRecord() {
        VolumeRouter router = router(4 << 20);
        router.completed(VolumeKey.nbd("127.0.0.1:10809", ""), RecordKind.FLUSH, 0, 0, 0, Provenance.INTERNAL, null);
        assertEquals(1, started.size());
        assertEquals(4 << 20, started.get(0).sizeBytes);
        router.close();
    }

    @Test
    void theFactoryIsSetBeforeTheFirstVolume() {
        VolumeRouter router = router(4 << 20);
        router.completed(VolumeKey.nbd("127.0.0.1:10809", ""), RecordKind.FLUSH, 0, 0, 0, Provenance.INTERNAL, null);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> router.alsoShipOver((v, s, b, buf) -> null));
        assertTrue(e.getMessage().startsWith("links: volumes already seen"), e.getMessage());
        router.close();
    }
}
