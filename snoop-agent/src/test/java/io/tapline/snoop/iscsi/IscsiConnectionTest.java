package io.tapline.snoop.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.snoop.RecordingSink;
import io.tapline.snoop.volume.SnoopSink;
import io.tapline.snoop.volume.VolumeKey;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Write-nature CDBs through a whole iSCSI connection (RFC 7143 PDUs fed one byte at a time,
 * SBC-4 CDBs), block size 512: what each becomes once the target answers GOOD, and that a
 * failed status or a task-management abort commits nothing.
 */
class IscsiConnectionTest {
    private static final int BS = 512;
    private static final VolumeKey LUN1 = VolumeKey.iscsi("127.0.0.1:3260", 1);

    private final RecordingSink sink = new RecordingSink();
    private final IscsiConnection conn = new IscsiConnection("127.0.0.1:40000", "127.0.0.1:3260", sink,
            new LunGeometry(BS));
    private int cmdSn = 1;

    private static void byteByByte(IscsiPduDecoder d, byte[] bytes) {
        for (byte b : bytes) {
            d.data(new byte[] {b}, 0, 1);
        }
    }

    private static byte[] pdu(int opcode, int flags, int lun, int itt, int field20, int field24, byte[] cdb, byte[] data) {
        int padded = (data.length + 3) & ~3;
        ByteBuffer b = ByteBuffer.allocate(48 + padded);
        b.put(0, (byte) opcode).put(1, (byte) flags);
        b.putInt(4, data.length); // TotalAHSLength 0, DataSegmentLength
        b.put(9, (byte) lun);
        b.putInt(16, itt).putInt(20, field20).putInt(24, field24);
        if (cdb != null) {
            b.put(32, cdb);
        }
        b.put(48, data);
        return b.array();
    }

    /** A SCSI Command with F and W set and all its data as immediate data. */
    private void command(int itt, byte[] cdb, byte[] data) {
        byteByByte(conn.initiatorStream(), pdu(0x01, 0x80 | (data.length > 0 ? 0x20 : 0), 1, itt, data.length,
                cmdSn++, cdb, data));
    }

    /** SCSI Response, response 0 (completed at target), status GOOD. */
    private void response(int itt) {
        byteByByte(conn.targetStream(), pdu(0x21, 0x80, 0, itt, 0, 0, null, new byte[0]));
    }

    /** SCSI Response, response 0, with a failed SCSI status in byte 3. */
    private void failedResponse(int itt, int status) {
        byte[] p = pdu(0x21, 0x80, 0, itt, 0, 0, null, new byte[0]);
        p[3] = (byte) status;
        byteByByte(conn.targetStream(), p);
    }

    private static byte[] cdb16(int opcode, int byte1, long lba, int blocks) {
        return ByteBuffer.allocate(16).put((byte) opcode).put((byte) byte1).putLong(lba).putInt(blocks).array();
    }

    private static byte[] write10(long lba, int blocks) {
        return ByteBuffer.allocate(16).put((byte) 0x2A).put((byte) 0).putInt((int) lba).put((byte) 0)
                .putShort((short) blocks).array();
    }

    private static byte[] filled(int bytes, int value) {
        byte[] b = new byte[bytes];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void write10CommitsOnGood() {
        byte[] data = filled(2 * BS, 0x5a);
        command(1, write10(8, 2), data);
        assertEquals(List.of(), sink.of("WRITE"), "not before the response");
        response(1);
        RecordingSink.Event w = sink.of("WRITE").get(0);
        assertEquals(8 * BS, w.offsetBytes());
        assertEquals(2 * BS, w.lengthBytes());
        assertArrayEquals(data, w.payload());
        assertEquals(LUN1, w.volume());
    }

    /** A SCSI Response with CHECK CONDITION and fixed-format sense data: {@code key}, {@code asc}. */
    private void checkCondition(int itt, int key, int asc) {
        checkCondition(itt, 0x70, key, asc);
    }

    /** As above, with response code {@code code} (0x70 current, 0x71 deferred). */
    private void checkCondition(int itt, int code, int key, int asc) {
        byte[] sense = new byte[2 + 18];
        sense[1] = 18;
        sense[2] = (byte) code;
        sense[2 + 2] = (byte) key;
        sense[2 + 7] = 10;
        sense[2 + 12] = (byte) asc;
        byte[] p = pdu(0x21, 0x80, 0, itt, 0, 0, null, sense);
        p[3] = 0x02;
        byteByByte(conn.targetStream(), p);
    }

    /**
     * SPC-4: a command refused for an invalid CDB (ILLEGAL REQUEST, LBA out of range) is terminated
     * without altering the medium: no GAP (tgtd refusing a write that crosses the disk's end);
     * an invalid parameter list, or a medium error, may have altered it: a GAP.
     */
    @Test
    void aWriteRefusedForAnInvalidCdbLeavesNoGapOtherFailuresDo() {
        command(1, write10(32760, 16), filled(16 * BS, 0x98));
        checkCondition(1, 0x05, 0x21);
        assertEquals(List.of(), sink.of("GAP"), "LBA out of range: nothing changed");
        command(2, write10(8, 2), filled(2 * BS, 0x11));
        checkCondition(2, 0x05, 0x26);
        assertEquals(1, sink.of("GAP").size(), "an invalid parameter list may have altered the medium");
        command(3, write10(16, 2), filled(2 * BS, 0x11));
        checkCondition(3, 0x03, 0x11);
        assertEquals(2, sink.of("GAP").size(), "a medium error is no proof");
        assertEquals(List.of(), sink.of("WRITE"));
    }

    /** An EDTL short of the CDB's blocks (the target reports a residual): a GAP that says so, not "not fully captured". */
    @Test
    void aWriteWhoseTransferLengthDiffersFromItsCdbIsAGapNamingTheMismatch() {
        command(1, write10(8, 2), filled(BS, 0x11)); // 2 blocks named, 1 block's data announced and sent
        response(1);
        assertEquals(List.of(), sink.of("WRITE"));
        assertEquals(2L * BS, sink.of("GAP").get(0).lengthBytes());
        assertTrue(sink.gapReasons.get(0).contains("Expected Data Transfer Length " + BS + " bytes differs from the "
                + 2 * BS + " bytes its CDB names"), sink.gapReasons.get(0));
    }

    /**
     * SPC-4 §5.14: a command answered UNIT ATTENTION was terminated instead of processed (tgtd's
     * "power on or reset" on a new session's first command: probe R D2); a deferred error reports
     * an earlier command that failed, which one unknown: a whole-volume GAP.
     */
    @Test
    void aUnitAttentionLeavesNoGapADeferredErrorPutsTheWholeVolumeInDoubt() {
        command(1, write10(8, 2), filled(2 * BS, 0x11));
        checkCondition(1, 0x06, 0x29);
        assertEquals(List.of(), sink.of("GAP"), "UNIT ATTENTION: the write was not processed");
        command(2, write10(8, 2), filled(2 * BS, 0x11));
        response(2);
        assertEquals(1, sink.of("WRITE").size(), "the retried write is kept");
        command(3, write10(16, 2), filled(2 * BS, 0x22));
        checkCondition(3, 0x71, 0x06, 0x29);
        List<RecordingSink.Event> gaps = sink.of("GAP");
        assertEquals(SnoopSink.WHOLE_VOLUME, gaps.get(0).lengthBytes(), "deferred: an earlier write may be missing");
        command(4, write10(24, 2), filled(2 * BS, 0x33));
        checkCondition(4, 0x71, 0x01, 0x17); // deferred RECOVERED ERROR: the data was recovered
        assertEquals(gaps.size() + 1, sink.of("GAP").size(), "only this write's own range, as any failed status");
    }

    /**
     * A 4096-byte-block LUN whose READ CAPACITY the tap never saw (the host logged in before the
     * tap started): its WRITEs' transfer length says 4096 bytes per block, so LBA 8 is byte 32768,
     * and a failed write's GAP covers the blocks it names at that size.
     */
    @Test
    void aWritesTransferLengthGivesTheBlockSizeOfALunWhoseReadCapacityWasNotSeen() {
        byte[] data = filled(2 * 4096, 0x5a);
        command(1, write10(8, 2), data);
        response(1);
        RecordingSink.Event w = sink.of("WRITE").get(0);
        assertEquals(8 * 4096, w.offsetBytes());
        assertEquals(2 * 4096, w.lengthBytes());
        assertArrayEquals(data, w.payload());
        command(2, write10(100, 3), filled(3 * 4096, 0x11));
        failedResponse(2, 0x02);
        RecordingSink.Event gap = sink.of("GAP").get(0);
        assertEquals(100 * 4096, gap.offsetBytes());
        assertEquals(3 * 4096, gap.lengthBytes());
    }

    /**
     * tgtd answered three overlapping writes in the reverse of the order it applied them: the
     * order in which overlapping writes in flight together reached the disk is unknown, so the
     * overlap is a GAP after the later record, never a guess.
     */
    @Test
    void overlappingWritesInFlightTogetherLeaveAGapOverTheOverlap() {
        command(1, write10(0, 4), filled(4 * BS, 0xA1)); // blocks 0..3
        command(2, write10(2, 4), filled(4 * BS, 0xB2)); // blocks 2..5, sent before 1 was answered
        response(2);
        response(1);
        List<RecordingSink.Event> events = sink.events.stream().filter(e -> !e.kind().equals("GEOMETRY")).toList();
        assertEquals(List.of("WRITE", "WRITE", "GAP"), events.stream().map(RecordingSink.Event::kind).toList(),
                events.toString());
        assertEquals(2L * BS, events.get(2).offsetBytes(), "the overlap only");
        assertEquals(2L * BS, events.get(2).lengthBytes());
    }

    @Test
    void overlappingWritesOneAfterTheOtherAreOrderedAndWritesInFlightApartAreToo() {
        command(1, write10(0, 4), filled(4 * BS, 0xA1));
        response(1);
        command(2, write10(2, 4), filled(4 * BS, 0xB2)); // sent after 1 was answered: ordered by the host
        command(3, write10(100, 4), filled(4 * BS, 0xC3)); // in flight with 2, but elsewhere
        response(3);
        response(2);
        assertEquals(List.of(), sink.of("GAP"));
        assertEquals(3, sink.of("WRITE").size());
    }

    @Test
    void failedStatusIsNotCommitted() {
        command(1, write10(0, 1), filled(BS, 1));
        failedResponse(1, 0x02); // CHECK CONDITION
        command(2, write10(0, 1), filled(BS, 2));
        failedResponse(2, 0x18); // RESERVATION CONFLICT
        assertEquals(List.of(), sink.of("WRITE"));
    }

    @Test
    void writeSame16WithUnmapBitIsADiscard() {
        command(1, cdb16(0x93, 0x08, 100, 50), filled(BS, 0));
        response(1);
        RecordingSink.Event d = sink.of("DISCARD").get(0);
        assertEquals(100L * BS, d.offsetBytes());
        assertEquals(50L * BS, d.lengthBytes());
    }

    @Test
    void writeSameOfAZeroBlockIsWriteZeroesAndNdobToo() {
        byte[] ws10 = ByteBuffer.allocate(16).put((byte) 0x41).put((byte) 0).putInt(10).put((byte) 0)
                .putShort((short) 4).array();
        command(1, ws10, filled(BS, 0));
        response(1);
        command(2, cdb16(0x93, 0x01, 20, 8), new byte[0]); // NDOB: no data-out buffer
        response(2);
        List<RecordingSink.Event> z = sink.of("WRITE_ZEROES");
        assertEquals(2, z.size());
        assertEquals(10L * BS, z.get(0).offsetBytes());
        assertEquals(4L * BS, z.get(0).lengthBytes());
        assertEquals(20L * BS, z.get(1).offsetBytes());
        assertEquals(8L * BS, z.get(1).lengthBytes());
    }

    @Test
    void writeSameOfAPatternBlockIsAWriteOfTheRepeatedBlock() {
        command(1, cdb16(0x93, 0, 4, 3), filled(BS, 0x77));
        response(1);
        RecordingSink.Event w = sink.of("WRITE").get(0);
        assertEquals(4L * BS, w.offsetBytes());
        assertEquals(3L * BS, w.lengthBytes());
        assertArrayEquals(filled(3 * BS, 0x77), w.payload());
    }

    @Test
    void unmapDescriptorsBecomeDiscards() {
        ByteBuffer list = ByteBuffer.allocate(8 + 32).putShort((short) 38).putShort((short) 32).putInt(0)
                .putLong(1000).putInt(16).putInt(0).putLong(5000).putInt(8).putInt(0);
        byte[] cdb = ByteBuffer.allocate(16).put((byte) 0x42).put(new byte[6]).putShort((short) 40).array();
        command(1, cdb, list.array());
        response(1);
        List<RecordingSink.Event> d = sink.of("DISCARD");
        assertEquals(2, d.size());
        assertEquals(1000L * BS, d.get(0).offsetBytes());
        assertEquals(16L * BS, d.get(0).lengthBytes());
        assertEquals(5000L * BS, d.get(1).offsetBytes());
        assertEquals(8L * BS, d.get(1).lengthBytes());
    }

    @Test
    void compareAndWriteCommitsOnlyTheWrittenHalfAndOnlyOnGood() {
        byte[] cdb = new byte[16];
        cdb[0] = (byte) 0x89;
        ByteBuffer.wrap(cdb).putLong(2, 7);
        cdb[13] = 1;
        byte[] data = new byte[2 * BS];
        System.arraycopy(filled(BS, 0x11), 0, data, 0, BS); // verify half
        System.arraycopy(filled(BS, 0x22), 0, data, BS, BS); // write half
        command(1, cdb, data);
        failedResponse(1, 0x02); // MISCOMPARE comes as CHECK CONDITION
        assertEquals(List.of(), sink.of("WRITE"));
        command(2, cdb, data);
        response(2);
        RecordingSink.Event w = sink.of("WRITE").get(0);
        assertEquals(7L * BS, w.offsetBytes());
        assertArrayEquals(filled(BS, 0x22), w.payload());
    }

    @Test
    void synchronizeCacheIsAFlush() {
        byte[] sc10 = new byte[16];
        sc10[0] = 0x35;
        command(1, sc10, new byte[0]);
        response(1);
        command(2, cdb16(0x91, 0, 0, 0), new byte[0]);
        response(2);
        assertEquals(2, sink.of("FLUSH").size());
    }

    @Test
    void formatUnitMarksTheWholeVolume() {
        byte[] fu = new byte[16];
        fu[0] = 0x04;
        command(1, fu, new byte[0]);
        response(1);
        RecordingSink.Event g = sink.of("GAP").get(0);
        assertEquals(0, g.offsetBytes());
        assertEquals(SnoopSink.WHOLE_VOLUME, g.lengthBytes());
    }

    @Test
    void writeAbortedByTaskManagementIsNotCommitted() {
        command(5, write10(0, 1), filled(BS, 3));
        // ABORT TASK (function 1) for ITT 5, then the target's "function complete"
        byteByByte(conn.initiatorStream(), pdu(0x42, 0x81, 1, 9, 5, cmdSn, null, new byte[0]));
        byteByByte(conn.targetStream(), pdu(0x22, 0x80, 0, 9, 0, 0, null, new byte[0]));
        response(5); // a stray late response for the aborted tag
        assertEquals(List.of(), sink.of("WRITE"));
    }

    @Test
    void failedStatusMarksTheWriteRangeAsAGap() {
        command(1, write10(8, 2), filled(2 * BS, 1));
        failedResponse(1, 0x02); // CHECK CONDITION, e.g. a medium error after part of the write landed
        command(2, write10(100, 1), filled(BS, 2));
        byte[] p = pdu(0x21, 0x80, 0, 2, 0, 0, null, new byte[0]);
        p[2] = 1; // response: target failure
        byteByByte(conn.targetStream(), p);
        List<RecordingSink.Event> gaps = sink.of("GAP");
        assertEquals(2, gaps.size(), gaps.toString());
        assertEquals(8L * BS, gaps.get(0).offsetBytes());
        assertEquals(2L * BS, gaps.get(0).lengthBytes());
        assertEquals(100L * BS, gaps.get(1).offsetBytes());
        assertEquals(BS, gaps.get(1).lengthBytes());
    }

    @Test
    void writeNeverAnsweredBecomesAGapOnceAtConnectionEnd() {
        command(3, write10(16, 4), filled(4 * BS, 3));
        byte[] sc10 = new byte[16];
        sc10[0] = 0x35;
        command(4, sc10, new byte[0]); // an unanswered SYNCHRONIZE CACHE changes no data
        conn.initiatorStream().end();
        conn.targetStream().end();
        List<RecordingSink.Event> gaps = sink.of("GAP");
        assertEquals(1, gaps.size(), gaps.toString());
        assertEquals(16L * BS, gaps.get(0).offsetBytes());
        assertEquals(4L * BS, gaps.get(0).lengthBytes());
    }

    @Test
    void writeAbortedByTaskManagementMarksItsRangeAsAGap() {
        command(5, write10(40, 1), filled(BS, 3));
        byteByByte(conn.initiatorStream(), pdu(0x42, 0x81, 1, 9, 5, cmdSn, null, new byte[0]));
        byteByByte(conn.targetStream(), pdu(0x22, 0x80, 0, 9, 0, 0, null, new byte[0]));
        RecordingSink.Event g = sink.of("GAP").get(0);
        assertEquals(40L * BS, g.offsetBytes());
        assertEquals(BS, g.lengthBytes());
    }

    @Test
    void readIsCountedNotStored() {
        byte[] read10 = new byte[16];
        read10[0] = 0x28;
        read10[8] = 1;
        command(1, read10, new byte[0]);
        response(1);
        assertEquals(1, sink.of("READ").size());
        assertEquals(List.of(), sink.of("WRITE"));
    }
}
