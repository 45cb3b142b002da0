package io.tapline.replay;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.undo.UndoConfig;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A small replica for the replayer's volume tests: volume {@code vol1} of source {@code src-a},
 * 256 KiB, undo segments of 16 KiB, with {@link RollbackTest#history()} to apply.
 */
final class SmallReplica {
    static final long SIZE = 256 << 10;
    static final UndoConfig UNDO = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));

    private SmallReplica() {
    }

    /** The HELLO of {@code vol1} at {@code sizeBytes}. */
    static JourneyMessage.Hello hello(long sizeBytes) {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", sizeBytes, 4096, "");
    }

    static JourneyMessage.Hello hello() {
        return hello(SIZE);
    }

    /** Opens {@code vol1} in {@code data}, applies the history's first {@code records} and closes it cleanly. */
    static void applied(Path data, int records) throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, records)));
        }
    }

    /** The replica image of {@code vol1} in {@code data}. */
    static Path image(Path data) {
        return data.resolve("vol1").resolve(ReplicaVolume.REPLICA_FILE);
    }
}
