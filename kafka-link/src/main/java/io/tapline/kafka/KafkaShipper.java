package io.tapline.kafka;

import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drains one volume's capture buffer to the volume's Kafka topic, forever: the buffer stays the
 * durable FIFO on the source, and its cursor for Kafka ({@link #CURSOR_ID}) advances only over
 * records Kafka acknowledged ({@code acks=all}: on at least {@code min.insync.replicas} brokers).
 *
 * <p>Ordering contract: records are sent in sequence order by one idempotent producer (Kafka
 * writes them in order, without duplicates within the session, except that a batch which failed
 * during an outage may be missing before later batches of the same session: the producer bumps
 * its epoch and goes on; the cursor never passes the failed record, so the next session resends it
 * and everything after it, and {@link ReplicaFeed} and {@link KafkaLogCheck} wait past the gap). On any
 * failure (a broker unreachable past the delivery timeout, a topic that cannot be created) the
 * producer is closed, the link counts as down, and a new producer resends from the cursor + 1
 * after a back-off. Records Kafka had written but not yet acknowledged to the old producer are
 * then on the topic twice; the replayer skips every record at or below its applied sequence.
 * Example: cursor 10, 11..15 sent, Kafka wrote 11..13 and the link broke: the topic holds
 * 11, 12, 13, 11, 12, 13, 14, 15; a replica applies 11..15 once each.
 *
 * <p>Durability rule (as the journey shipper's): a record is sent only after the buffer made it
 * durable, so Kafka never holds a record a power cut could take from the source.
 *
 * <p>A Kafka outage is a link outage: the buffer keeps the records (it may fill and turn to
 * tracking chunks, as for any link), {@link #status()} shows the link down with the reason.
 *
 * <p>A topic holds one buffer's history ({@link TopicOwnership}): before each session sends
 * anything, the topic's last record is read, and a topic that holds another buffer's records (a
 * buffer recreated empty, whose sequences start again from 1, would be skipped by every replica as
 * applied) is refused: the link stays down with the reason (ERROR once), the buffer keeps its
 * records, and the shipper looks again every 5 s (the operator may delete the topic).
 *
 * <p>Threads: one thread ({@code tapline-kafka-<volume>}) reads, sends, and records
 * acknowledgements in the buffer; {@link #status()} and {@link #close()} from any thread.
 */
public final class KafkaShipper implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(KafkaShipper.class);
    /** The buffer cursor of the Kafka link. */
    public static final String CURSOR_ID = "kafka";
    private static final long POLL_MILLIS = 100;
    private static final int READ_BATCH_BYTES = 1 << 20;
    private static final long MAX_BACKOFF_MILLIS = 5000;

    private final KafkaLinkConfig config;
    private final VolumeIdentity volume;
    private final CaptureBuffer buffer;
    private final String topic;
    private final Thread thread;
    private final CountDownLatch closing = new CountDownLatch(1);
    private final AtomicLong lastSent = new AtomicLong();
    private final AtomicLong lastAcked = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private volatile boolean connected;
    private volatile boolean closed;
    private volatile String lastError = "";
    private volatile Runnable onChange = () -> { };
    private volatile Producer<byte[], byte[]> producer;

    private KafkaShipper(KafkaLinkConfig config, VolumeIdentity volume, CaptureBuffer buffer) {
        this.config = config;
        this.volume = volume;
        this.buffer = buffer;
        this.topic = config.topic(volume.volumeId());
        this.thread = new Thread(this::run, "tapline-kafka-" + volume.volumeId());
        this.thread.setDaemon(true);
    }

    /**
     * Registers the Kafka cursor in {@code buffer} and starts shipping in the background.
     *
     * @throws IOException when the cursor cannot be registered
     */
    public static KafkaShipper start(KafkaLinkConfig config, VolumeIdentity volume, CaptureBuffer buffer)
            throws IOException {
        if (!buffer.volumeId().equals(volume.volumeId())) {
            throw new IllegalArgumentException("volume: " + volume.volumeId() + " (expected: the buffer's, "
                    + buffer.volumeId() + ")");
        }
        buffer.registerRemote(CURSOR_ID);
        KafkaShipper s = new KafkaShipper(config, volume, buffer);
        s.lastAcked.set(buffer.acknowledged(CURSOR_ID));
        s.lastSent.set(s.lastAcked.get());
        s.thread.start();
        log.info("kafka shipper started volume={} topic={} brokers={} cursor={}", volume.volumeId(), s.topic,
                config.bootstrapServers(), s.lastAcked.get());
        return s;
    }

    /**
     * The link for status files and metrics: the address is {@code kafka://<brokers>/<topic>}. The
     * link's "replica" is the topic: consistent up to the last sequence Kafka acknowledged (what the
     * source is responsible for; each site applies it at its own pace and reports on its own side).
     */
    public ShipperStatus status() {
        long acked = lastAcked.get();
        return new ShipperStatus(CURSOR_ID, "kafka://" + config.bootstrapServers() + "/" + topic, connected,
                lastSent.get(), acked, reconnects.get(), lastError,
                new io.tapline.journey.control.ReplicaStateReport(
                        io.tapline.journey.control.ReplicaStateReport.CONSISTENT, acked, acked, 0,
                        "topic " + topic + " holds every record up to seq " + acked));
    }

    /** The topic this shipper writes. */
    public String topic() {
        return topic;
    }

    /** Runs {@code listener} (it must not block) when the link goes up or down. */
    public void onChange(Runnable listener) {
        this.onChange = java.util.Objects.requireNonNull(listener, "listener");
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closing.countDown();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(15));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.info("kafka shipper stopped volume={} topic={} lastAcked={}", volume.volumeId(), topic, lastAcked.get());
    }

    private void run() {
        long backoffMillis = 100;
        while (!closed) {
            String reason;
            boolean refused = false;
            try {
                runSession();
                reason = "shipper closed";
            } catch (TopicRefusedException e) {
                reason = e.getMessage();
                refused = true;
            } catch (IOException | RuntimeException e) {
                reason = e.getMessage() == null ? e.toString() : e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                Producer<byte[], byte[]> p = producer;
                producer = null;
                if (p != null) {
                    p.close(Duration.ZERO); // unacknowledged records are sent again by the next session
                }
            }
            if (closed) {
                return;
            }
            linkDown(reason, refused);
            try {
                if (closing.await(backoffMillis, TimeUnit.MILLISECONDS)) {
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            backoffMillis = refused ? MAX_BACKOFF_MILLIS : Math.min(backoffMillis * 2, MAX_BACKOFF_MILLIS);
        }
    }

    /** One producer, from creation to failure. */
    private void runSession() throws IOException, InterruptedException {
        if (!KafkaTopics.ensure(config, topic)) {
            checkOwnership();
        }
        producer = new KafkaProducer<>(config.producerProperties("tapline-ship-" + volume.volumeId()));
        long acked = buffer.acknowledged(CURSOR_ID);
        lastAcked.set(acked);
        lastSent.set(acked);
        ArrayDeque<Sent> window = new ArrayDeque<>();
        long windowBytes = 0;
        boolean up = false;
        try (RecordReader reader = buffer.openReader(acked + 1)) {
            long expected = acked + 1;
            while (!closed) {
                List<CaptureRecord> read = new ArrayList<>();
                long bytes = 0;
                while (bytes < READ_BATCH_BYTES && windowBytes + bytes < config.maxInFlightBytes()) {
                    CaptureRecord r = reader.next(read.isEmpty() && window.isEmpty() ? POLL_MILLIS : 0);
                    if (r == null) {
                        break;
                    }
                    if (r.sequence() > expected && r.recordsLostBefore()) {
                        expected = r.sequence(); // the buffer numbers past a replica's history here (its GAP says so)
                    }
                    if (r.sequence() != expected) {
                        throw new IOException("capture buffer hole: seq " + r.sequence() + " (expected: " + expected
                                + ") volume=" + volume.volumeId());
                    }
                    expected++;
                    read.add(r);
                    bytes += r.encodedSize();
                }
                if (!read.isEmpty()) {
                    long last = read.get(read.size() - 1).sequence();
                    if (buffer.durableSequence() < last) {
                        buffer.sync(); // group commit with the wedge's FLUSH/FUA waiters
                    }
                    for (CaptureRecord r : read) {
                        Sent sent = new Sent(r.sequence(), r.encodedSize(),
                                producer.send(KafkaRecordFormat.toKafka(topic, r, volume, buffer.bufferId())));
                        if (sent.future.isDone()) {
                            // Failed at once (no metadata within max.block.ms: every broker gone): each
                            // further send would block as long again, so the session ends here.
                            try {
                                sent.future.get();
                            } catch (ExecutionException e) {
                                throw failed(sent, e);
                            }
                        }
                        window.add(sent);
                        windowBytes += r.encodedSize();
                    }
                    lastSent.set(last);
                }
                long before = lastAcked.get();
                windowBytes -= collect(window, read.isEmpty() && !window.isEmpty());
                if (lastAcked.get() > before) {
                    buffer.acknowledge(CURSOR_ID, lastAcked.get());
                }
                if (!up && (lastAcked.get() > before || window.isEmpty())) {
                    up = true;
                    linkUp();
                }
            }
        }
    }

    /** Refuses a topic that holds another buffer's history ({@link TopicOwnership}), before anything is sent. */
    private void checkOwnership() throws IOException {
        String why = TopicOwnership.refusal(topic, KafkaLogReader.lastRecord(config, volume.volumeId(),
                config.requestTimeout().multipliedBy(2)), buffer.bufferId(), buffer.lastSequence());
        if (why != null) {
            throw new TopicRefusedException(why);
        }
    }

    /**
     * Takes the acknowledged records off the front of the window (waiting briefly for the oldest
     * when {@code wait}); returns their bytes. A failed send ends the session.
     */
    private long collect(ArrayDeque<Sent> window, boolean wait) throws IOException, InterruptedException {
        long freed = 0;
        while (!window.isEmpty()) {
            Sent head = window.peek();
            if (!head.future.isDone()) {
                if (!wait) {
                    break;
                }
                try {
                    head.future.get(POLL_MILLIS, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    break;
                } catch (ExecutionException e) {
                    throw failed(head, e);
                }
            }
            try {
                head.future.get();
            } catch (ExecutionException e) {
                throw failed(head, e);
            }
            window.poll();
            freed += head.bytes;
            lastAcked.set(head.sequence);
            wait = false;
        }
        return freed;
    }

    private IOException failed(Sent head, ExecutionException e) {
        return new IOException("kafka " + topic + " seq " + head.sequence + ": " + e.getCause().getMessage(),
                e.getCause());
    }

    private void linkUp() {
        connected = true;
        lastError = "";
        onChange.run();
        log.info("kafka link up volume={} topic={} resumeAt={}", volume.volumeId(), topic, lastAcked.get() + 1);
    }

    private void linkDown(String reason, boolean refused) {
        boolean was = connected;
        boolean news = !reason.equals(lastError);
        connected = false;
        reconnects.incrementAndGet();
        lastError = reason;
        onChange.run();
        if (refused && news) {
            log.error("kafka link refused volume={} topic={} reason={}", volume.volumeId(), topic, reason);
        } else if (was || reconnects.get() == 1) {
            log.warn("kafka link down volume={} topic={} reason={}; the buffer keeps the records", volume.volumeId(),
                    topic, reason);
        } else {
            log.debug("kafka link still down volume={} reason={}", volume.volumeId(), reason);
        }
    }

    /** The topic holds another buffer's history: the link stays down until the operator acts. */
    private static final class TopicRefusedException extends IOException {
        TopicRefusedException(String message) {
            super(message);
        }
    }

    private record Sent(long sequence, int bytes, Future<RecordMetadata> future) {
    }
}
