package io.tapline.tools;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.wedge.capture.CaptureSink;
import io.tapline.wedge.capture.CompletionListener;
import io.tapline.wedge.capture.WriteCommand;
import io.tapline.wedge.capture.WriteOutcome;
import io.tapline.wedge.server.WedgeServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The wedge's side of {@code tapline mark}: the capture buffer has one writer (this process),
 * so the CLI drops a request file {@code <buffer>/<volume>/requests/<id>.mark} (the UTF-8 name)
 * and this spool, polling every 100 ms, submits a MARK to the volume's sequencer, where it is
 * ordered with the host's writes like any other command. Once the MARK is durable in the
 * buffer it writes {@code <id>.done} holding the sequence (or {@code <id>.failed} holding the
 * reason) and deletes the request. Both answers are written to a temp name and renamed.
 *
 * <p>Threads: one polling thread; completions arrive on the sequencer's flusher thread and are
 * handed back to the polling thread for the file I/O.
 */
final class MarkSpool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MarkSpool.class);
    static final String DIR = "requests";

    private final Path dir;
    private final WedgeServer wedge;
    private final SequenceTap tap;
    private final ScheduledExecutorService poller;
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

    private MarkSpool(Path dir, WedgeServer wedge, SequenceTap tap) {
        this.dir = dir;
        this.wedge = wedge;
        this.tap = tap;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mark-spool");
            t.setDaemon(true);
            return t;
        });
    }

    static MarkSpool start(Path volumeDir, WedgeServer wedge, SequenceTap tap) throws IOException {
        MarkSpool spool = new MarkSpool(Files.createDirectories(volumeDir.resolve(DIR)), wedge, tap);
        spool.poller.scheduleWithFixedDelay(spool::poll, 0, 100, TimeUnit.MILLISECONDS);
        return spool;
    }

    private void poll() {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files.filter(f -> f.getFileName().toString().endsWith(".mark"))::iterator) {
                String file = p.getFileName().toString();
                String id = file.substring(0, file.length() - ".mark".length());
                if (inFlight.add(id)) {
                    submit(id, p);
                }
            }
        } catch (IOException | RuntimeException e) {
            log.warn("mark spool poll failed dir={} error={}", dir, e.toString());
        }
    }

    private void submit(String id, Path request) throws IOException {
        byte[] name = Files.readAllBytes(request);
        tap.expect(name);
        wedge.submit(new WriteCommand(RecordKind.MARK, 0, 0, 0, Provenance.INTERNAL, name, new CompletionListener() {
            @Override
            public void onComplete(WriteCommand command, WriteOutcome outcome) {
                long seq = tap.take(name);
                poller.execute(() -> answer(id, request, outcome, seq, new String(name, StandardCharsets.UTF_8)));
            }

            @Override
            public void onBatchEnd() {
                // Each answer was queued in onComplete.
            }
        }));
    }

    private void answer(String id, Path request, WriteOutcome outcome, long seq, String name) {
        try {
            String suffix = outcome == WriteOutcome.OK && seq > 0 ? ".done" : ".failed";
            String text = suffix.equals(".done") ? Long.toString(seq)
                    : (seq == 0 ? tap.notStoredReason() : "mark failed: " + outcome);
            Path tmp = dir.resolve(id + suffix + ".tmp");
            Files.writeString(tmp, text + "\n");
            Files.move(tmp, dir.resolve(id + suffix), StandardCopyOption.ATOMIC_MOVE);
            Files.deleteIfExists(request);
            log.info("mark volume={} name={} seq={} outcome={}", wedge.config().exportName(), name, seq, outcome);
        } catch (IOException e) {
            log.error("mark answer not written id={} dir={} error={}", id, dir, e.toString());
        } finally {
            inFlight.remove(id);
        }
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }

    /**
     * A capture sink that passes everything through and remembers the sequence assigned to each
     * MARK it was told to expect (matched by payload identity). Thread-safe.
     */
    static final class SequenceTap implements CaptureSink {
        private final CaptureSink delegate;
        private final Map<byte[], Long> expected = new IdentityHashMap<>();

        SequenceTap(CaptureSink delegate) {
            this.delegate = delegate;
        }

        synchronized void expect(byte[] payload) {
            expected.put(payload, 0L);
        }

        /** Why a MARK got no sequence. */
        String notStoredReason() {
            return delegate instanceof io.tapline.wedge.capture.UncapturedSink
                    ? "the volume is in cycle mode: a replica only holds whole cycles; use tapline cycle now"
                    : "capture buffer full: the mark was not stored";
        }

        /** The sequence the MARK got, 0 if it was not stored. */
        synchronized long take(byte[] payload) {
            Long seq = expected.remove(payload);
            return seq == null ? 0 : seq;
        }

        @Override
        public CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags,
                Provenance provenance, byte[] payload) throws IOException {
            CaptureRecord r = delegate.append(kind, offsetBytes, lengthBytes, flags, provenance, payload);
            if (kind == RecordKind.MARK && r != null) {
                synchronized (this) {
                    expected.replace(payload, r.sequence());
                }
            }
            return r;
        }

        @Override
        public void sync() throws IOException {
            delegate.sync();
        }

        @Override
        public void fail(String reason) {
            delegate.fail(reason);
        }
    }
}
