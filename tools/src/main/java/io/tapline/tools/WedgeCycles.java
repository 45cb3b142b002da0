package io.tapline.tools;

import io.tapline.journey.resync.CycleVolume;
import io.tapline.log.buffer.ChangedChunks;
import io.tapline.log.cycles.FrozenImage;
import io.tapline.log.cycles.LayeredVolume;
import io.tapline.wedge.server.WedgeServer;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A wedge's layered volume as the resync engine drives it in cycle mode: a freeze runs at the
 * wedge's quiescent point (no write in flight; the host's next writes wait for it), a copied
 * cycle is merged on the engine's thread. Thread-safe.
 */
final class WedgeCycles implements CycleVolume {
    private final WedgeServer wedge;
    private final LayeredVolume volume;
    /** The group the volume freezes with; null for a volume alone. */
    private final CycleGroup group;

    WedgeCycles(WedgeServer wedge, LayeredVolume volume, CycleGroup group) {
        this.wedge = wedge;
        this.volume = volume;
        this.group = group;
        if (group != null) {
            group.add(wedge, volume);
        }
    }

    @Override
    public Frozen freezeIfNone() throws IOException, InterruptedException {
        FrozenImage f = volume.frozen();
        if (f == null) {
            f = group != null ? group.freeze(volume) : wedge.atQuiescentPoint(volume::freeze);
        }
        return of(f);
    }

    @Override
    public Frozen pending() {
        FrozenImage f = volume.frozen();
        return f == null ? null : of(f);
    }

    @Override
    public void copied(Frozen frozen) throws IOException {
        volume.mergeFrozen((done, total) -> 0);
        if (group != null) {
            group.copied();
        }
    }

    @Override
    public long changedBlocks() {
        return volume.activeBlocks();
    }

    @Override
    public long activeCycle() {
        return volume.activeCycle();
    }

    @Override
    public String group() {
        return group == null ? "" : group.name();
    }

    private static Frozen of(FrozenImage f) {
        return new Frozen() {
            @Override
            public long cycle() {
                return f.cycle();
            }

            @Override
            public long frozenAtMillis() {
                return f.frozenAtMillis();
            }

            @Override
            public ChangedChunks.Snapshot changedChunks(int chunkBytes) {
                return new ChangedChunks.Snapshot(chunkBytes, false, f.changedChunks(chunkBytes));
            }

            @Override
            public java.util.List<long[]> writtenRanges(long offsetBytes, long lengthBytes) {
                return f.writtenRanges(offsetBytes, lengthBytes);
            }

            @Override
            public long sizeBytes() {
                return f.sizeBytes();
            }

            @Override
            public void read(long offsetBytes, ByteBuffer dst) throws IOException {
                f.read(offsetBytes, dst);
            }

            @Override
            public boolean isHole(long offsetBytes, long lengthBytes) {
                return f.isHole(offsetBytes, lengthBytes);
            }
        };
    }
}
