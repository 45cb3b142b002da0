package io.tapline.journey.source;

import io.tapline.log.BackgroundStop;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source process's side of {@code tapline mark}: the capture buffer has one writer (this
 * process), so the CLI drops a request file {@code <buffer>/<volume>/requests/<id>.mark} (the
 * UTF-8 name) and this spool, polling every 100 ms, submits a MARK to the volume's
 * {@link SourceSink}, where it is ordered with the captured writes like any other record. Once
 * the MARK is durable in the buffer it writes {@code <id>.done} holding the sequence (or
 * {@code <id>.failed} holding the reason) and deletes the request. Both answers are written to a
 * temp name and renamed. The same for a wedge and a snoop.
 *
 * <p>Threads: one polling thread; completions arrive on the sink's thread and are handed back to
 * the polling thread for the file I/O.
 */
public final class MarkSpool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MarkSpool.class);
    /** The request directory inside a volume's buffer directory (every spooled request uses it). */
    public static final String DIR = "requests";

    private final Path dir;
    private final PollFailures pollFailures;
    private final String volume;
    private final SourceSink sink;
    private final ScheduledExecutorService poller;
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

    private MarkSpool(Path dir, String volume, SourceSink sink) {
        this.dir = dir;
        this.pollFailures = new PollFailures(log, "mark spool poll of " + dir);
        this.volume = volume;
        this.sink = sink;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mark-spool-" + volume);
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts polling {@code <volumeDir>/requests} for marks of {@code volume}. */
    public static MarkSpool start(Path volumeDir, String volume, SourceSink sink) throws IOException {
        MarkSpool spool = new MarkSpool(Files.createDirectories(volumeDir.resolve(DIR)), volume, sink);
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
            pollFailures.worked();
        } catch (IOException | RuntimeException e) {
            pollFailures.failed(e);
        }
    }

    private void submit(String id, Path request) throws IOException {
        byte[] name;
        try {
            name = Files.readAllBytes(request);
        } catch (IOException e) {
            inFlight.remove(id);
            throw e;
        }
        sink.submit(RecordKind.MARK, 0, 0, 0, Provenance.INTERNAL, name, (seq, failure) -> {
            try {
                poller.execute(() -> answer(id, request, seq, failure, new String(name, StandardCharsets.UTF_8)));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                inFlight.remove(id); // stopping: the CLI times out and says the source is not running
            }
        });
    }

    private void answer(String id, Path request, long seq, String failure, String name) {
        try {
            boolean done = seq > 0 && failure == null;
            String suffix = done ? ".done" : ".failed";
            String text = done ? Long.toString(seq) : failure == null ? "mark not stored" : failure;
            Path tmp = dir.resolve(id + suffix + ".tmp");
            Files.writeString(tmp, text + "\n");
            Files.move(tmp, dir.resolve(id + suffix), StandardCopyOption.ATOMIC_MOVE);
            Files.deleteIfExists(request);
            log.info("mark volume={} name={} seq={} outcome={}", volume, name, seq, done ? "OK" : failure);
        } catch (IOException e) {
            log.error("mark answer not written id={} dir={} error={}", id, dir, e.toString());
        } finally {
            inFlight.remove(id);
        }
    }

    @Override
    public void close() {
        // a poll or an answer already running ends first: no answer file appears after close
        if (!BackgroundStop.awaitQuiet(poller)) {
            log.warn("mark spool still running at close volume={}", volume);
        }
    }
}
