package io.tapline.log.crash;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.cycles.LayeredVolume;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Cycle mode's layered volume: writes of many sizes (some inside one block, some across several),
 * a force after each round (the host's FLUSH), a freeze every few rounds and a merge of the frozen
 * layer some rounds later, so cuts fall into writes, table page updates, layer creation, merges
 * and deletions. Oracle: the volume opens; every 512-byte sector reads as it was after the last
 * force acknowledged before the cut or after some later write issued before it (an unflushed write
 * may persist in part, sector by sector, as on a disk) and never anything else.
 */
final class CycleLayersWorkload implements CrashWorkload {
    private static final long SIZE = (48 << 10) + 1000; // 13 blocks, the last one partial
    private static final int SECTOR = 512;

    private final int rounds;
    /** The volume's image after each write: version 0 is all zeros. */
    private final List<byte[]> versions = new ArrayList<>();
    private final Ledger<Integer> forced = new Ledger<>(0);
    private final Ledger<Integer> issued = new Ledger<>(0);

    CycleLayersWorkload(int rounds) {
        this.rounds = rounds;
    }

    @Override
    public String kind() {
        return "cycle layers";
    }

    @Override
    public void run(Path root, FileOpTrace trace) throws Exception {
        Random rnd = new Random(11);
        byte[] image = new byte[(int) SIZE];
        versions.add(image.clone());
        try (LayeredVolume v = LayeredVolume.open(root.resolve("vol.img"), SIZE)) {
            for (int round = 0; round < rounds; round++) {
                int writes = 1 + rnd.nextInt(3);
                for (int i = 0; i < writes; i++) {
                    int len = 1 + rnd.nextInt(rnd.nextBoolean() ? 3000 : 12_000);
                    long off = rnd.nextLong(SIZE - len + 1);
                    byte[] data = Payloads.of(versions.size(), len);
                    // noted before it is issued: from here on a cut may keep any part of it
                    issued.note(trace.size(), versions.size());
                    if (rnd.nextInt(8) == 0) {
                        Arrays.fill(image, (int) off, (int) off + len, (byte) 0);
                        versions.add(image.clone());
                        v.zero(off, len, false);
                    } else {
                        System.arraycopy(data, 0, image, (int) off, len);
                        versions.add(image.clone());
                        v.write(off, ByteBuffer.wrap(data));
                    }
                }
                v.force();
                forced.note(trace.size(), versions.size() - 1);
                if (round % 6 == 5 && v.frozen() == null) {
                    v.freeze();
                    forced.note(trace.size(), versions.size() - 1);
                } else if (round % 6 == 2 && v.frozen() != null) {
                    v.mergeFrozen((done, total) -> 0);
                }
            }
        }
    }

    @Override
    public String expectationAt(int opsDone) {
        return forced.at(opsDone) + "-" + issued.at(opsDone);
    }

    @Override
    public void check(Path dir, int opsDone) throws Exception {
        if (!Files.exists(dir.resolve("vol.img"))) {
            assertTrue(issued.at(opsDone) == 0 && forced.at(opsDone) == 0, "the base image is gone after writes");
            return;
        }
        int from = forced.at(opsDone);
        int to = issued.at(opsDone);
        byte[] got = new byte[(int) SIZE];
        try (LayeredVolume v = LayeredVolume.open(dir.resolve("vol.img"), SIZE)) {
            v.read(0, ByteBuffer.wrap(got));
        }
        for (int s = 0; s < SIZE; s += SECTOR) {
            int end = (int) Math.min(SIZE, s + SECTOR);
            boolean matched = false;
            for (int ver = from; ver <= to && !matched; ver++) {
                matched = Arrays.equals(got, s, end, versions.get(ver), s, end);
            }
            assertTrue(matched, "sector at " + s + " matches no version from the last force (" + from
                    + ") to the last write issued (" + to + ")");
        }
    }
}
