package io.tapline.log.volume;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The sizes of the page-cache folios that hold a file's cached pages, for tests that must see
 * them: the cached pages are found with {@code mincore(2)} on a mapping of the file (so that no
 * page is read in), mapped by touching them, and their frames looked up in
 * {@code /proc/self/pagemap} and {@code /proc/kpageflags} (compound head and tail flags). Needs
 * root: without it the frame numbers read as 0 and {@link #largest} fails, naming the page.
 */
final class CachedFolios {
    private static final int PAGE = 4096;
    private static final int KPF_COMPOUND_TAIL = 16;

    private CachedFolios() {
    }

    interface LibC extends com.sun.jna.Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int mincore(Pointer addr, long length, byte[] vec);
    }

    /** The native-endian 64-bit entry at {@code position} (both files take whole, aligned entries only). */
    private static long entryAt(FileChannel file, long position) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.nativeOrder());
        while (b.hasRemaining()) {
            if (file.read(b, position + b.position()) < 0) {
                throw new IOException("short read at " + position);
            }
        }
        return b.getLong(0);
    }

    /**
     * The largest folio, in pages, among the cached pages of {@code [0, length)} of {@code file};
     * 0 when none is cached, 1 when every cached page is a folio of its own.
     */
    static int largest(Path file, long length) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, length);
            Pointer base = Native.getDirectBufferPointer(map);
            int pages = (int) (length / PAGE);
            byte[] resident = new byte[pages];
            if (LibC.INSTANCE.mincore(base, length, resident) != 0) {
                throw new IOException("mincore failed: errno " + Native.getLastError());
            }
            long baseAddress = Pointer.nativeValue(base);
            try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ);
                    FileChannel kpageflags = FileChannel.open(Path.of("/proc/kpageflags"), StandardOpenOption.READ)) {
                int largest = 0;
                int run = 0;
                long runHeadFrame = -1;
                for (int i = 0; i < pages; i++) {
                    if ((resident[i] & 1) == 0) {
                        run = 0;
                        continue;
                    }
                    map.get(i * PAGE); // maps the cached page (no read: it is cached)
                    long entry = entryAt(pagemap, (baseAddress / PAGE + i) * 8);
                    long frame = entry & ((1L << 55) - 1);
                    if (entry >= 0 || frame == 0) { // bit 63: present; a frame of 0: not root
                        throw new IOException("page " + i + " not mapped or its frame hidden: 0x" + Long.toHexString(entry));
                    }
                    long flags = entryAt(kpageflags, frame * 8);
                    boolean tail = (flags >>> KPF_COMPOUND_TAIL & 1) != 0;
                    if (tail && run > 0 && frame == runHeadFrame + run) {
                        run++; // the next page of the same folio
                    } else {
                        run = 1; // a head, or a page that is a folio of its own
                        runHeadFrame = frame;
                    }
                    largest = Math.max(largest, run);
                }
                return largest;
            }
        }
    }
}
