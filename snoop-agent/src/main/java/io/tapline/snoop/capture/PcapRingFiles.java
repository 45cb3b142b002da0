package io.tapline.snoop.capture;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A bounded ring of classic pcap files in one directory, as {@code tcpdump -C SIZE -W COUNT} or
 * dumpcap {@code -b filesize -b files} keep: frames are appended to the newest file; a frame that
 * would take it past {@code maxFileBytes} starts a new file, and the oldest files are deleted so
 * that at most {@code maxFiles} remain (files of earlier runs in the directory count too, so a
 * restart never lets the ring grow beyond its bound).
 *
 * <p>File names: {@code snoop-NNNNNNNN-YYYYMMDDTHHMMSSZ.pcap}, NNNNNNNN counting up across runs
 * (name order is age order), the time the file was started (UTC).
 *
 * <p>Format (draft-ietf-opsawg-pcap, little-endian, nanosecond timestamps):
 * <pre>
 * file header, 24 bytes:  magic 0xA1B23C4D | major 2 | minor 4 | thiszone 0 | sigfigs 0 | snaplen | linktype
 * record header, 16 bytes: seconds | nanoseconds | captured length | original length, then the frame
 * </pre>
 *
 * <p>Why not Pcap4J's {@code PcapDumper}: it writes through libpcap, one JNA call and a copy per
 * frame, and knows no rotation; the format is 40 lines of Java, and the files are checked with
 * tshark in the tests.
 *
 * <p>Not thread-safe: one writer thread owns it ({@link EvidenceRing}).
 */
final class PcapRingFiles implements AutoCloseable {
    static final Pattern NAME = Pattern.compile("snoop-(\\d{8})-\\d{8}T\\d{6}Z\\.pcap");
    private static final int MAGIC_NANOS = 0xA1B23C4D;
    private static final int HEADER_BYTES = 24;
    private static final int RECORD_HEADER_BYTES = 16;
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    private final Path dir;
    private final long maxFileBytes;
    private final int maxFiles;
    private final int linkType;
    private final int snaplenBytes;
    private final ByteBuffer recordHeader = ByteBuffer.allocate(RECORD_HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private OutputStream out;
    private Path current;
    private long currentBytes;
    private long nextNumber;
    private long filesStarted;

    /**
     * @param linkType     LINKTYPE_ value of every frame (the live capture's)
     * @param maxFileBytes a file is not grown past this (a single larger frame gets a file of its own)
     * @param maxFiles     files kept in {@code dir}, at least 1
     */
    PcapRingFiles(Path dir, long maxFileBytes, int maxFiles, int linkType, int snaplenBytes) throws IOException {
        if (maxFileBytes < HEADER_BYTES + RECORD_HEADER_BYTES) {
            throw new IllegalArgumentException("maxFileBytes: " + maxFileBytes + " (expected: >= 40)");
        }
        if (maxFiles < 1) {
            throw new IllegalArgumentException("maxFiles: " + maxFiles + " (expected: >= 1)");
        }
        this.dir = dir;
        this.maxFileBytes = maxFileBytes;
        this.maxFiles = maxFiles;
        this.linkType = linkType == 12 || linkType == 14 ? 101 : linkType; // DLT_RAW is LINKTYPE_RAW in a file
        this.snaplenBytes = snaplenBytes;
        Files.createDirectories(dir);
        List<Path> existing = ringFiles();
        nextNumber = existing.isEmpty() ? 1 : number(existing.get(existing.size() - 1)) + 1;
    }

    /** Appends one frame, starting a new file (and deleting the oldest) when this one is full. */
    void append(byte[] frame, int originalLength, long timeNanos) throws IOException {
        long need = RECORD_HEADER_BYTES + (long) frame.length;
        if (out == null || (currentBytes + need > maxFileBytes && currentBytes > HEADER_BYTES)) {
            startFile(timeNanos);
        }
        recordHeader.clear();
        recordHeader.putInt((int) Math.floorDiv(timeNanos, 1_000_000_000L))
                .putInt((int) Math.floorMod(timeNanos, 1_000_000_000L))
                .putInt(frame.length).putInt(Math.max(originalLength, frame.length));
        out.write(recordHeader.array());
        out.write(frame);
        currentBytes += need;
    }

    /** Pushes buffered records to the file, so that a reader sees every frame appended so far. */
    void flush() throws IOException {
        if (out != null) {
            out.flush();
        }
    }

    /** The file being written, or null before the first frame. */
    Path current() {
        return current;
    }

    /** Files started by this instance. */
    long filesStarted() {
        return filesStarted;
    }

    private void startFile(long timeNanos) throws IOException {
        close();
        Path file = dir.resolve(String.format("snoop-%08d-%s.pcap", nextNumber++,
                STAMP.format(Instant.ofEpochSecond(0, timeNanos > 0 ? timeNanos : System.currentTimeMillis() * 1_000_000L))));
        out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(MAGIC_NANOS).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(snaplenBytes)
                .putInt(linkType);
        out.write(h.array());
        current = file;
        currentBytes = HEADER_BYTES;
        filesStarted++;
        List<Path> files = ringFiles();
        for (int i = 0; i < files.size() - maxFiles; i++) {
            Files.deleteIfExists(files.get(i));
        }
    }

    /** The ring's files in {@code dir}, oldest first. */
    List<Path> ringFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> NAME.matcher(p.getFileName().toString()).matches()).forEach(files::add);
        }
        files.sort(java.util.Comparator.comparing(p -> p.getFileName().toString()));
        return files;
    }

    private static long number(Path file) {
        Matcher m = NAME.matcher(file.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : 0;
    }

    @Override
    public void close() throws IOException {
        if (out != null) {
            OutputStream o = out;
            out = null;
            o.close();
        }
    }
}
