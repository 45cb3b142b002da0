package io.tapline.journey;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;

/** Journey frames as the encoder writes them, for tests and benches. */
final class TestFrames {
    private TestFrames() {
    }

    /** What {@link JourneyEncoder} (default frame bound) writes for {@code message}. */
    static byte[] encoded(JourneyMessage message) {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyEncoder());
        ch.writeOutbound(message);
        ByteBuf out = ch.readOutbound();
        try {
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
            ch.finishAndReleaseAll();
        }
    }
}
