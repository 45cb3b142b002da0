package io.tapline.snoop.tcp;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reassembles one direction of a TCP connection (RFC 9293 sequence space) into an ordered byte
 * stream for a {@link StreamConsumer}.
 *
 * <p>Handles out-of-order segments (held until the hole before them fills), retransmissions
 * and overlaps (the first copy of a byte wins), SYN (sets the initial sequence), FIN and RST
 * (end the stream once every byte before them was delivered), and a snaplen that cut a
 * segment (the missing tail becomes a gap). Memory is bounded: when the held bytes exceed
 * {@code maxPendingBytes} the oldest hole is given up and reported through
 * {@link StreamConsumer#gap}; never are bytes skipped silently.
 *
 * <p>Not thread-safe: the capture thread owns it.
 */
public final class TcpReassembler {
    private final StreamConsumer consumer;
    private final long maxPendingBytes;
    private final TreeMap<Long, Held> pending = new TreeMap<>();
    private long pendingBytes;
    private boolean started;
    private boolean midStream;
    private boolean ended;
    private int baseSeq;
    private long nextPosition;
    private long finPosition = -1;
    private long gapBytes;

    private record Held(byte[] bytes, int wireLength) {
    }

    public TcpReassembler(StreamConsumer consumer, long maxPendingBytes) {
        if (maxPendingBytes < 65536) {
            throw new IllegalArgumentException("maxPendingBytes: " + maxPendingBytes + " (expected: >= 65536)");
        }
        this.consumer = consumer;
        this.maxPendingBytes = maxPendingBytes;
    }

    /** Whether the stream was joined after its SYN (the consumer must resynchronise). */
    public boolean midStream() {
        return midStream;
    }

    public boolean ended() {
        return ended;
    }

    /** Bytes reported as gaps so far. */
    public long gapBytes() {
        return gapBytes;
    }

    /** Offers one segment of this direction. */
    public void segment(TcpSegment s) {
        if (ended) {
            return;
        }
        int seq = (int) s.sequence();
        if (!started) {
            started = true;
            midStream = !s.syn();
            baseSeq = s.syn() ? seq + 1 : seq;
            nextPosition = 0;
        }
        int dataSeq = s.syn() ? seq + 1 : seq;
        // signed 32-bit distance from the next expected byte: survives sequence wrap-around
        long position = nextPosition + (dataSeq - (int) (baseSeq + nextPosition));
        if (s.payloadBytes() > 0) {
            accept(position, s.data(), s.payloadOffset(), s.capturedPayloadBytes(), s.payloadBytes());
        }
        if (s.fin()) {
            finPosition = position + s.payloadBytes();
        }
        if (s.rst()) {
            finish();
            return;
        }
        drain();
        if (finPosition >= 0 && nextPosition >= finPosition) {
            end();
        }
        while (pendingBytes > maxPendingBytes && !pending.isEmpty()) {
            skipTo(pending.firstKey());
            drain();
        }
    }

    /** End of capture or connection torn down: delivers what is held (with gaps) and ends. */
    public void finish() {
        if (ended) {
            return;
        }
        while (!pending.isEmpty()) {
            long first = pending.firstKey();
            if (first > nextPosition) {
                skipTo(first);
            }
            drain();
        }
        if (finPosition > nextPosition) {
            skipTo(finPosition); // the FIN proves bytes were sent that the capture never showed
        }
        end();
    }

    private void accept(long position, byte[] data, int offset, int captured, int wireLength) {
        long end = position + wireLength;
        if (end <= nextPosition) {
            return; // retransmission of bytes already delivered
        }
        if (position <= nextPosition) {
            int skip = (int) (nextPosition - position);
            deliver(data, offset, captured, wireLength, skip);
            return;
        }
        Held old = pending.get(position);
        if (old != null && old.wireLength >= wireLength) {
            return;
        }
        if (old != null) {
            pendingBytes -= old.bytes.length;
        }
        byte[] copy = Arrays.copyOfRange(data, offset, offset + captured);
        pending.put(position, new Held(copy, wireLength));
        pendingBytes += copy.length;
    }

    private void deliver(byte[] data, int offset, int captured, int wireLength, int skip) {
        if (skip < captured) {
            consumer.data(data, offset + skip, captured - skip);
            nextPosition += captured - skip;
        }
        long missing = wireLength - Math.max(skip, captured);
        if (missing > 0) {
            reportGap(missing);
        }
    }

    private void drain() {
        while (!pending.isEmpty()) {
            Map.Entry<Long, Held> first = pending.firstEntry();
            long position = first.getKey();
            if (position > nextPosition) {
                return;
            }
            pending.pollFirstEntry();
            Held h = first.getValue();
            pendingBytes -= h.bytes.length;
            if (position + h.wireLength > nextPosition) {
                deliver(h.bytes, 0, h.bytes.length, h.wireLength, (int) (nextPosition - position));
            }
        }
    }

    private void skipTo(long position) {
        reportGap(position - nextPosition);
    }

    private void reportGap(long bytes) {
        gapBytes += bytes;
        nextPosition += bytes;
        consumer.gap(bytes);
    }

    private void end() {
        if (!ended) {
            ended = true;
            pending.clear();
            pendingBytes = 0;
            consumer.end();
        }
    }
}
