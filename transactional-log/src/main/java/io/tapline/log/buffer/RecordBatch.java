package io.tapline.log.buffer;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The encoded form of a run of sealed records for one gathering write: each record's header in
 * one shared direct buffer, each payload wrapped where it lies (no copy), in sequence order.
 *
 * <p>Not thread-safe: the buffer's writer keeps one and reuses its header space.
 */
final class RecordBatch {
    private ByteBuffer headers = ByteBuffer.allocateDirect(16 * (RecordCodec.FIXED_BYTES + 64));

    /** The header and payload buffers of {@code records}, ready for one gathering write. */
    ByteBuffer[] encode(List<CaptureRecord> records) {
        int headerBytes = 0;
        for (CaptureRecord r : records) {
            headerBytes += RecordCodec.headerSize(r);
        }
        if (headers.capacity() < headerBytes) {
            headers = ByteBuffer.allocateDirect(Math.max(headerBytes, 2 * headers.capacity()));
        }
        headers.clear();
        ByteBuffer[] gather = new ByteBuffer[2 * records.size()];
        for (int i = 0; i < records.size(); i++) {
            CaptureRecord r = records.get(i);
            int start = headers.position();
            RecordCodec.writeHeader(r, headers);
            gather[2 * i] = headers.slice(start, headers.position() - start);
            gather[2 * i + 1] = ByteBuffer.wrap(r.payload());
        }
        return gather;
    }
}
