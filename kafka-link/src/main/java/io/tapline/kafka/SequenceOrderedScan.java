package io.tapline.kafka;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import io.tapline.log.RecordFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Gives a volume topic's records in sequence order, each sequence once, from a partition that
 * holds them as the {@link KafkaShipper} writes them: in order, but a producer that failed during
 * an outage may have left sequences out before later ones of the same session, and the next
 * session resends from the first unacknowledged record, so those later ones come again after the
 * missing ones. Example: {@code 1 2 5 6 3 4 5 6 7} is given as {@code 1..7}.
 *
 * <p>The rule is {@link ReplicaFeed}'s: the next sequence is taken, a sequence already taken is a
 * resend, a sequence ahead of the next is skipped (it comes again). A sequence that never comes
 * is a hole: once a pass over the range ends with records skipped ahead of the next sequence, one
 * more pass finds the lowest of them and where it first appears, the hole is noted, and the
 * records from there on are taken by the same rule. Nothing is kept in memory but counters; each
 * hole costs two more passes over part of the range (holes are a lost record, not the outage's
 * ordinary gap).
 *
 * <p>Not thread-safe.
 */
final class SequenceOrderedScan {
    /** Reads the scan's range of the partition from {@code fromOffset} to its fixed end, in offset order. */
    interface Source {
        void read(long fromOffset, Visitor visitor) throws IOException;
    }

    /** Gets each raw record of a pass, in offset order; false ends the pass. */
    interface Visitor {
        boolean visit(ConsumerRecord<byte[], byte[]> r) throws IOException;
    }

    /** Gets each record taken, in sequence order, decoded and its CRC-32C checked. */
    interface Taken {
        void accept(ConsumerRecord<byte[], byte[]> r, CaptureRecord record) throws IOException;
    }

    private SequenceOrderedScan() {
    }

    /**
     * Passes over {@code source} from {@code startOffset}, giving {@code taken} each sequence once
     * in order (the first record read sets where the sequence starts); returns the holes crossed.
     */
    static List<KafkaLogReader.Hole> run(Source source, long startOffset, Taken taken) throws IOException {
        List<KafkaLogReader.Hole> holes = new ArrayList<>();
        long passStart = startOffset;
        long next = 0; // the sequence to take next; 0: the first record read decides
        while (true) {
            Pass pass = new Pass(next, taken);
            source.read(passStart, pass);
            if (pass.highestAhead < pass.next) {
                return holes;
            }
            Lowest lowest = new Lowest(pass.next);
            source.read(passStart, lowest);
            holes.add(new KafkaLogReader.Hole(pass.next, lowest.sequence - 1, lowest.offset));
            passStart = lowest.offset;
            next = lowest.sequence;
        }
    }

    /** One pass of the dense rule. */
    private static final class Pass implements Visitor {
        private final Taken taken;
        private long next;
        private long highestAhead = -1;

        Pass(long next, Taken taken) {
            this.next = next;
            this.taken = taken;
        }

        @Override
        public boolean visit(ConsumerRecord<byte[], byte[]> r) throws IOException {
            CaptureRecord record = decode(r);
            long seq = record.sequence();
            if (next == 0) {
                next = seq;
            }
            if (seq == next) {
                taken.accept(r, record);
                next++;
            } else if (seq > next) {
                highestAhead = Math.max(highestAhead, seq);
            }
            return true;
        }
    }

    /** Finds the lowest sequence at or above {@code floor} and the first offset holding it. */
    private static final class Lowest implements Visitor {
        private final long floor;
        private long sequence = Long.MAX_VALUE;
        private long offset = -1;

        Lowest(long floor) {
            this.floor = floor;
        }

        @Override
        public boolean visit(ConsumerRecord<byte[], byte[]> r) throws IOException {
            long seq = decode(r).sequence();
            if (seq >= floor && seq < sequence) {
                sequence = seq;
                offset = r.offset();
            }
            return true;
        }
    }

    private static CaptureRecord decode(ConsumerRecord<byte[], byte[]> r) throws IOException {
        try {
            return RecordCodec.decode(ByteBuffer.wrap(r.value() == null ? new byte[0] : r.value()));
        } catch (RecordFormatException e) {
            throw new IOException("topic " + r.topic() + " offset " + r.offset() + ": " + e.getMessage(), e);
        }
    }
}
