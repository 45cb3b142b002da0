package io.tapline.tools;

import io.tapline.journey.resync.SourceVolume;
import io.tapline.wedge.server.WedgeServer;
import java.io.IOException;
import java.nio.ByteBuffer;

/** The wedge's primary volume as the resync engine reads it: quiesced through the wedge's sequencer. */
final class WedgeVolume implements SourceVolume {
    private final WedgeServer wedge;
    private final long sizeBytes;

    WedgeVolume(WedgeServer wedge, long sizeBytes) {
        this.wedge = wedge;
        this.sizeBytes = sizeBytes;
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        wedge.readPrimary(offsetBytes, dst);
    }

    @Override
    public boolean isHole(long offsetBytes, long lengthBytes) {
        return wedge.primaryHole(offsetBytes, lengthBytes);
    }

    @Override
    public <T> T atQuiescentPoint(Action<T> action) throws IOException, InterruptedException {
        return wedge.atQuiescentPoint(action::run);
    }
}
