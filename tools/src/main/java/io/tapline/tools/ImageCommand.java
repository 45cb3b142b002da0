package io.tapline.tools;

import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.replay.PointInTimeImage;
import io.tapline.replay.RefusedException;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tapline image}: writes the volume as of an earlier point to a new file, from the
 * replica and its undo log, on the replayer's host. Neither is changed and replication goes on.
 */
@Command(name = "image", mixinStandardHelpOptions = true,
        description = "Materialises a point-in-time image of a replica (as of a sequence, time or mark) without touching it.")
final class ImageCommand implements Callable<Integer> {

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "The replayer's data directory.")
    Path data;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
    String volume;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Point point;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The image file to write (replaced).")
    Path out;

    @Option(names = "--json", description = "Machine-readable result on stdout.")
    boolean json;

    /** Exactly one point. */
    static final class Point {
        @Option(names = "--seq", paramLabel = "N", description = "As of this sequence.")
        Long seq;

        @Option(names = "--as-of", paramLabel = "ISO", description = "As of the newest record at or before this time.")
        Instant time;

        @Option(names = "--mark", paramLabel = "NAME", description = "As of a named mark.")
        String mark;
    }

    @Override
    public Integer call() throws Exception {
        if (!Files.isDirectory(data.resolve(volume))) {
            throw new CliFailure("volume: " + volume + " (expected: a volume directory in " + data + ")");
        }
        io.tapline.tools.cli.InstantConverter.notAfterNow("--as-of", point.time);
        PointInTimeImage.Image made;
        PointInTimeImage.Progress progress = everySecond();
        try {
            if (point.seq != null) {
                made = PointInTimeImage.image(data, volume, AdminRequest.TO_SEQUENCE, point.seq, "", out, progress);
            } else if (point.time != null) {
                made = PointInTimeImage.image(data, volume, AdminRequest.TO_TIME,
                        point.time.getEpochSecond() * 1_000_000_000L + point.time.getNano(), "", out, progress);
            } else {
                made = PointInTimeImage.image(data, volume, AdminRequest.TO_MARK, 0, point.mark, out, progress);
            }
        } catch (RefusedException e) {
            throw new CliFailure(e.getMessage()); // nothing was written at --out
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("volume", volume);
            m.put("sequence", made.sequence());
            m.put("consistent", made.consistent());
            m.put("outOfSyncBy", made.outOfSyncBy());
            m.put("out", out.toAbsolutePath().toString());
            System.out.println(Json.write(m));
        } else {
            System.out.println("image of volume " + volume + " at seq " + made.sequence() + " written to " + out + "; "
                    + (made.consistent() ? "the source's volume was in this state"
                            : "no state the source's volume was in (" + made.outOfSyncBy() + ")"));
        }
        return 0;
    }

    /** The copy's progress on stderr, at most once a second (an image of a large volume takes minutes). */
    private static PointInTimeImage.Progress everySecond() {
        long[] next = {System.nanoTime() + 1_000_000_000L};
        return new PointInTimeImage.Progress() {
            @Override
            public void copied(long done, long total) {
                long now = System.nanoTime();
                if (now >= next[0] && done < total) {
                    next[0] = now + 1_000_000_000L;
                    System.err.printf("tapline image: replica copied %d/%d MiB (%d%%)%n", done >> 20, total >> 20,
                            total == 0 ? 100 : done * 100 / total);
                }
            }

            @Override
            public void replayed(long done, long total) {
                long now = System.nanoTime();
                if (now >= next[0] && done < total) {
                    next[0] = now + 1_000_000_000L;
                    System.err.printf("tapline image: undo records replayed %d/%d (%d%%)%n", done, total,
                            total == 0 ? 100 : done * 100 / total);
                }
            }
        };
    }
}
