package io.tapline.log.buffer;

import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.DurableFiles;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Spans of queued records an operator discarded ({@code tapline buffer discard}): their data
 * never ships. Readers hand out, in place of each WRITE, WRITE_ZEROES or DISCARD record of a
 * span, a GAP record of the same sequence and range (marks and flushes pass unchanged), so the
 * replica knows exactly what it lacks; the buffer tracked the ranges as changed chunks before
 * the span was recorded, and the resync engine copies them from the volume. The records stay
 * on disk until every remote acknowledged their segment.
 *
 * <p>File {@code discarded.spans}, replaced whole and durably: one line per span
 * {@code FROM TO MILLIS ACTOR}, then {@code crc32c HEX} of every byte before that line. Immutable.
 *
 * @param spans the spans, in the order they were discarded
 */
record DiscardedSpans(List<Span> spans) {
    static final String FILE = "discarded.spans";
    static final DiscardedSpans NONE = new DiscardedSpans(List.of());

    /** Records {@code from..to} (inclusive), discarded by {@code actor} at {@code millis}. */
    record Span(long from, long to, long millis, String actor) {
        boolean contains(long sequence) {
            return sequence >= from && sequence <= to;
        }

        String reason() {
            return "discarded by " + actor + " at " + Instant.ofEpochMilli(millis) + " (span seq " + from + ".." + to
                    + "): resynced from the volume";
        }
    }

    DiscardedSpans {
        spans = List.copyOf(spans);
    }

    boolean isEmpty() {
        return spans.isEmpty();
    }

    /** Whether a span holds the record of {@code sequence} (it may still pass: marks and flushes do). */
    boolean covers(long sequence) {
        for (Span s : spans) {
            if (s.contains(sequence)) {
                return true;
            }
        }
        return false;
    }

    /** {@code r}, or the GAP that replaces it when a span discarded it. */
    CaptureRecord apply(CaptureRecord r) {
        if (r == null || spans.isEmpty() || !r.kind().changesData()) {
            return r;
        }
        for (Span s : spans) {
            if (s.contains(r.sequence())) {
                return CaptureRecord.seal(r.volumeId(), r.sequence(), r.captureTimeNanos(), RecordKind.GAP,
                        r.offsetBytes(), r.lengthBytes(), 0, new Provenance(Bus.INTERNAL, s.actor(), "discard", 0, 0, 0),
                        s.reason().getBytes(StandardCharsets.UTF_8));
            }
        }
        return r;
    }

    /** These spans and {@code s}, without those wholly before {@code firstRetained}. */
    DiscardedSpans with(Span s, long firstRetained) {
        List<Span> out = new ArrayList<>();
        for (Span old : spans) {
            if (old.to() >= firstRetained) {
                out.add(old);
            }
        }
        if (s != null) {
            out.add(s);
        }
        return new DiscardedSpans(out);
    }

    void write(Path dir) throws IOException {
        StringBuilder b = new StringBuilder();
        for (Span s : spans) {
            b.append(s.from()).append(' ').append(s.to()).append(' ').append(s.millis()).append(' ')
                    .append(s.actor().replace('\n', ' ')).append('\n');
        }
        byte[] body = b.toString().getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(body);
        DurableFiles.replace(dir.resolve(FILE), (b + String.format("crc32c %08x%n", (int) crc.getValue()))
                .getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads {@code dir/discarded.spans}; {@link #NONE} when absent.
     *
     * @throws IOException naming the file and what is wrong, and the repair: deleting the file
     *         ships the spans after all (nothing is lost, the link carries them)
     */
    static DiscardedSpans read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return NONE;
        }
        String text = new String(DurableFiles.readSmallFile(file, 1 << 20).array(), StandardCharsets.UTF_8);
        int last = text.lastIndexOf("crc32c ");
        String repair = "; delete it to ship the discarded spans after all";
        if (last < 0 || !text.endsWith("\n")) {
            throw new IOException("discarded spans " + file + ": no crc32c line (expected: a last line 'crc32c HEX')"
                    + repair);
        }
        byte[] body = text.substring(0, last).getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(body);
        String stored = text.substring(last + 7).strip();
        if (!stored.equals(String.format("%08x", (int) crc.getValue()))) {
            throw new IOException("discarded spans " + file + ": crc32c: " + stored + " (expected: "
                    + String.format("%08x", (int) crc.getValue()) + ")" + repair);
        }
        List<Span> spans = new ArrayList<>();
        for (String line : text.substring(0, last).split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split(" ", 4);
            try {
                spans.add(new Span(Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]),
                        f.length > 3 ? f[3] : ""));
            } catch (RuntimeException e) {
                throw new IOException("discarded spans " + file + ": line '" + line
                        + "' (expected: FROM TO MILLIS ACTOR)" + repair, e);
            }
        }
        return new DiscardedSpans(spans);
    }
}
