package io.tapline.tools;

import io.tapline.journey.resync.ResyncEngine;
import io.tapline.log.BackgroundStop;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source process's side of {@code tapline resync}, {@code tapline verify} and (handed to
 * {@link OperatorControls}) {@code tapline capture|ship}: the CLI drops
 * {@code <buffer>/<volume>/requests/<id>.resync} holding {@code full} or {@code chunks} and the
 * operator's reason on a second line; this spool, polling every 200 ms, hands it to the volume's
 * {@link ResyncEngine} and answers {@code <id>.accepted} holding the number of epochs completed
 * before the request (the CLI then follows {@code source-status.json} until a later epoch ends).
 *
 * <p>Threads: one polling thread.
 */
final class RequestSpool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RequestSpool.class);
    static final String SUFFIX = ".resync";
    static final String VERIFY_SUFFIX = ".verify";
    /** First line of a {@code .resync} request for a cycle now (cycle mode); answered with the cycle then taking writes. */
    static final String CYCLE = "cycle";
    /** The answer to a resync or verify for a source without a resync engine (a snoop without --source). */
    static final String NO_ENGINE = "no resync engine for this volume: a snoop needs --source VOLUME=nbd://... or"
            + " iscsi://... to read the tapped volume";

    private final Path dir;
    private final io.tapline.journey.source.PollFailures pollFailures;
    private final ResyncEngine engine;
    private final OperatorControls controls;
    private final ScheduledExecutorService poller;

    private RequestSpool(Path dir, ResyncEngine engine, OperatorControls controls) {
        this.dir = dir;
        this.pollFailures = new io.tapline.journey.source.PollFailures(log, "request spool poll of " + dir);
        this.engine = engine;
        this.controls = controls;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "resync-spool");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts polling; capture and ship requests go to {@code controls}; {@code engine} may be null. */
    static RequestSpool start(Path volumeDir, ResyncEngine engine, OperatorControls controls) throws IOException {
        RequestSpool spool = new RequestSpool(Files.createDirectories(volumeDir.resolve(io.tapline.journey.source.MarkSpool.DIR)), engine,
                controls);
        spool.poller.scheduleWithFixedDelay(spool::poll, 0, 200, TimeUnit.MILLISECONDS);
        return spool;
    }

    private void poll() {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(VERIFY_SUFFIX)) {
                    acceptVerify(p);
                } else if (name.endsWith(SUFFIX)) {
                    accept(p);
                } else if (OperatorControls.handles(name)) {
                    controls.handle(p);
                }
            }
            pollFailures.worked();
        } catch (IOException | RuntimeException e) {
            pollFailures.failed(e);
        }
    }

    private void accept(Path request) throws IOException {
        String file = request.getFileName().toString();
        String id = file.substring(0, file.length() - SUFFIX.length());
        if (engine == null) {
            Files.deleteIfExists(request);
            answer(id + ".failed", NO_ENGINE);
            return;
        }
        String[] lines = Files.readString(request, StandardCharsets.UTF_8).split("\n", 2);
        boolean full = lines[0].strip().equals("full");
        String reason = lines.length > 1 ? lines[1].strip() : "operator request";
        if (lines[0].strip().equals(CYCLE)) {
            Files.deleteIfExists(request);
            if (!engine.cycleMode()) {
                answer(id + ".failed", "the volume is in journal mode (a wedge started with --mode cycles has cycles)");
                return;
            }
            long active = engine.cycleStatus().activeCycle(); // read first: the cycle that copies the request's writes
            engine.request(false, reason);
            answer(id + ".accepted", Long.toString(active));
            return;
        }
        long before = engine.status().epochsCompleted();
        engine.request(full, reason);
        AdvisoryFiles.writeText(dir, id + ".accepted", before + "\n");
        Files.deleteIfExists(request);
    }

    /** {@code <id>.verify} holds the actor; answered by {@code <id>.verify.json} or {@code <id>.verify.failed}. */
    private void acceptVerify(Path request) throws IOException {
        String file = request.getFileName().toString();
        String id = file.substring(0, file.length() - VERIFY_SUFFIX.length());
        String actor = Files.readString(request, StandardCharsets.UTF_8).strip();
        Files.deleteIfExists(request);
        if (engine == null) {
            answer(id + ".verify.failed", NO_ENGINE);
            return;
        }
        engine.verify(actor.isEmpty() ? "unknown" : actor).whenComplete((report, failure) -> {
            try {
                if (failure != null) {
                    answer(id + ".verify.failed", String.valueOf(failure.getMessage()));
                } else {
                    answer(id + ".verify.json", io.tapline.tools.cli.Json.write(VerifyCommand.toMap(report)));
                }
            } catch (IOException e) {
                log.error("verify answer not written id={} dir={} error={}", id, dir, e.toString());
            }
        });
    }

    private void answer(String name, String text) throws IOException {
        AdvisoryFiles.writeText(dir, name, text + "\n");
    }

    @Override
    public void close() {
        // a poll already running ends first: no answer file appears after close
        if (!BackgroundStop.awaitQuiet(poller)) {
            log.warn("request spool still running at close dir={}", dir);
        }
    }
}
