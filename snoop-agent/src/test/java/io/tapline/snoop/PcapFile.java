package io.tapline.snoop;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A classic pcap file split into its global header and records, to write damaged variants in tests. */
record PcapFile(byte[] header, List<byte[]> records) {
    static PcapFile read(Path p) throws IOException {
        byte[] all = Files.readAllBytes(p);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(0);
        if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
            throw new IOException("pcap magic: 0x" + Integer.toHexString(magic) + " (expected: little-endian pcap)");
        }
        List<byte[]> records = new ArrayList<>();
        int at = 24;
        while (at + 16 <= all.length) {
            int caplen = b.getInt(at + 8);
            records.add(Arrays.copyOfRange(all, at, at + 16 + caplen));
            at += 16 + caplen;
        }
        return new PcapFile(Arrays.copyOf(all, 24), records);
    }

    void write(Path p, List<byte[]> recs) throws IOException {
        int size = header.length + recs.stream().mapToInt(r -> r.length).sum();
        ByteBuffer out = ByteBuffer.allocate(size);
        out.put(header);
        recs.forEach(out::put);
        Files.write(p, out.array());
    }
}
