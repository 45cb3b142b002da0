package io.tapline.snoop.iscsi;

import io.tapline.log.Bus;
import io.tapline.log.Provenance;
import io.tapline.snoop.volume.ConcurrentOverlaps;
import io.tapline.snoop.volume.SnoopSink;
import io.tapline.snoop.volume.VolumeKey;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows one iSCSI connection from both directions' PDUs: login (RFC 7143 §6, §11.12–11.13:
 * TargetName, SessionType and the digest keys of §13.1, which apply from the first PDU after
 * the final Login Response), SCSI commands and their data (§11.3, §11.7), completion by SCSI
 * Response (§11.4; only status GOOD commits a write), Task Management aborts (§11.5–11.6) and
 * Logout (§11.14).
 *
 * <p>Ordering contract: a write is handed to the sink when its SCSI Response with GOOD is seen,
 * so the sink receives completions in the order the target sent them. Example: WRITE A (ITT 1)
 * and WRITE B (ITT 2) overlap; the target answers 2 before 1; the sink gets B then A, which is
 * the order the target applied them as far as the host can tell.
 *
 * <p>Overlapping writes in flight together: a target may apply SIMPLE tasks in any order (SAM-5),
 * and tgtd was seen to answer three overlapping writes in the reverse of the order it applied them.
 * Where such commands overlap, a GAP follows the later one's record ({@link ConcurrentOverlaps}): the
 * range is out of sync until a resync compares it, never replayed in a guessed order.
 *
 * <p>Unconfirmed writes: a write-nature command answered with a failed response or status,
 * aborted by task management, or still unanswered at logout or when the connection ends becomes
 * a GAP over its range (the target may have applied it), never a replayed write.
 *
 * <p>Loss: when either direction loses framing, every volume of the connection (and any it
 * names later) gets a whole-volume GAP, since a missed command could have written anywhere.
 * A Data-Out whose command was not seen gets a whole-volume GAP for its LUN.
 *
 * <p>Limitation: ITTs are tracked per connection; with MC/S a task's PDUs on another
 * connection of the session are not joined (tgtd and libiscsi do not use MC/S).
 * Not thread-safe: capture thread only.
 */
public final class IscsiConnection {
    private static final Logger log = LoggerFactory.getLogger(IscsiConnection.class);

    private final String initiatorAddress;
    private final String targetAddress;
    private final SnoopSink sink;
    private final LunGeometry geometry;
    private final TaskCommitter committer;
    private final ConcurrentOverlaps overlaps;
    /** Names a task in a GAP's reason, with this connection. */
    private final java.util.function.LongFunction<String> ittName;
    private final IscsiPduDecoder fromInitiator;
    private final IscsiPduDecoder fromTarget;
    private final Map<Integer, IscsiTask> tasks = new HashMap<>();
    private final Map<Integer, int[]> managementRequests = new HashMap<>();
    private final Set<VolumeKey> volumes = new HashSet<>();
    private final Set<Integer> orphanItts = new HashSet<>();
    private final DataBuffers buffers = new DataBuffers();
    /** The task whose array the initiator decoder is filling now (never recycled meanwhile). */
    private IscsiTask placing;
    private String targetName;
    private boolean discovery;
    private boolean lossSeen;
    private String headerDigest = "None";
    private String dataDigest = "None";
    private long pdus;

    /** A connection of its own (tests): its overlaps compared with no other connection's. */
    public IscsiConnection(String initiatorAddress, String targetAddress, SnoopSink sink, LunGeometry geometry) {
        this(initiatorAddress, targetAddress, sink, geometry,
                new ConcurrentOverlaps(sink::gap, itt -> "itt=0x" + Integer.toHexString((int) itt)));
    }

    /** @param overlaps the capture's, shared by every connection: a LUN's writes on two sessions are compared */
    public IscsiConnection(String initiatorAddress, String targetAddress, SnoopSink sink, LunGeometry geometry,
            ConcurrentOverlaps overlaps) {
        this.initiatorAddress = initiatorAddress;
        this.targetAddress = targetAddress;
        this.sink = sink;
        this.geometry = geometry;
        this.committer = new TaskCommitter(sink, geometry);
        this.overlaps = overlaps;
        this.ittName = itt -> "itt=0x" + Integer.toHexString((int) itt) + " conn=" + initiatorAddress;
        this.fromInitiator = new IscsiPduDecoder(true, new Side(true));
        this.fromTarget = new IscsiPduDecoder(false, new Side(false));
    }

    /** The initiator-to-target stream decoder. */
    public IscsiPduDecoder initiatorStream() {
        return fromInitiator;
    }

    /** The target-to-initiator stream decoder. */
    public IscsiPduDecoder targetStream() {
        return fromTarget;
    }

    /** The capture joined after the connection started: scan for headers and treat what came before as lost. */
    public void startMidStream() {
        fromInitiator.startMidStream();
        fromTarget.startMidStream();
        lost("capture started mid-connection");
    }

    public long pdus() {
        return pdus;
    }

    private final class Side implements IscsiPduDecoder.Listener {
        private final boolean initiator;

        Side(boolean initiator) {
            this.initiator = initiator;
        }

        @Override
        public void pdu(IscsiPdu pdu) {
            pdus++;
            if (initiator) {
                initiatorPdu(pdu);
            } else {
                targetPdu(pdu);
            }
        }

        @Override
        public boolean place(byte[] bhs, int dataLength, IscsiPduDecoder.Placement placement) {
            if (!initiator || (bhs[0] & 0x3F) != IscsiOpcode.DATA_OUT.wireValue) {
                return false;
            }
            IscsiTask task = tasks.get(be32(bhs, 16));
            long bufferOffset = be32(bhs, 40) & 0xFFFF_FFFFL;
            if (task == null || !task.fits(bufferOffset, dataLength)) {
                return false;
            }
            placement.set(task.data, (int) bufferOffset);
            placing = task;
            return true;
        }

        @Override
        public void lostSync(String reason) {
            if (initiator) {
                placing = null;
            }
            lost((initiator ? "initiator" : "target") + " stream: " + reason);
        }

        @Override
        public void ended() {
            // Either direction ending ends the responses this capture can see: every write still
            // pending may have been applied by the target, so it becomes a GAP (once: tasks are cleared).
            endTasks("no response before the connection ended");
        }
    }

    private void initiatorPdu(IscsiPdu pdu) {
        switch (IscsiOpcode.of(pdu.opcode())) {
            case LOGIN_REQUEST, TEXT_REQUEST -> keys(pdu, true);
            case SCSI_COMMAND -> command(pdu);
            case DATA_OUT -> dataOut(pdu);
            case TASK_MANAGEMENT_REQUEST -> managementRequests.put(pdu.itt(),
                    new int[] {pdu.flags() & 0x7F, pdu.i32(20), pdu.lun()});
            default -> {
                // NOP-Out, Logout request, SNACK: nothing to capture until the target answers.
            }
        }
    }

    private void targetPdu(IscsiPdu pdu) {
        switch (IscsiOpcode.of(pdu.opcode())) {
            case LOGIN_RESPONSE -> loginResponse(pdu);
            case TEXT_RESPONSE -> keys(pdu, false);
            case SCSI_RESPONSE -> response(pdu.itt(), pdu.u8(2), pdu.u8(3), pdu.data());
            case DATA_IN -> dataIn(pdu);
            case TASK_MANAGEMENT_RESPONSE -> managementResponse(pdu);
            case LOGOUT_RESPONSE -> logoutResponse();
            default -> {
                // NOP-In, R2T (Data-Out carries the offsets), Async, Reject: nothing to capture.
            }
        }
    }

    /** Logout ends the connection's tasks: a write still pending was never confirmed. */
    private void logoutResponse() {
        endTasks("no response before logout");
    }

    /** Every pending task ends unanswered: each write-nature one is {@link #unconfirmed}. */
    private void endTasks(String why) {
        for (IscsiTask t : tasks.values()) {
            unconfirmed(t, why);
            recycle(t);
        }
        tasks.clear();
    }

    /**
     * A write-nature task the target did not confirm: a GAP over its range (it may have been
     * applied), logged at INFO; other tasks are only dropped.
     */
    private void unconfirmed(IscsiTask t, String why) {
        if (t.command.writeNature() && committer.unconfirmed(t, why)) {
            log.info("write not confirmed, GAP recorded conn={} itt=0x{} volume={} why={}", initiatorAddress,
                    Integer.toHexString(t.itt), t.volume, why);
        }
        ended(t);
    }

    /** A write-nature task's outcome is known: compared with the overlapping ones that were in flight with it. */
    private void ended(IscsiTask t) {
        if (t.overlapTicket != 0) {
            overlaps.ended(t.overlapTicket, t.volume, committer.ranges(t), t.itt, ittName);
        }
    }

    private void keys(IscsiPdu pdu, boolean initiator) {
        for (Map.Entry<String, String> e : IscsiKeys.parse(pdu.data()).entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "TargetName" -> targetName = initiator ? v : targetName;
                case "SessionType" -> discovery = "Discovery".equals(v);
                case "HeaderDigest" -> headerDigest = v.contains(",") ? headerDigest : v;
                case "DataDigest" -> dataDigest = v.contains(",") ? dataDigest : v;
                default -> {
                    // other keys do not change how the stream is framed
                }
            }
        }
    }

    private void loginResponse(IscsiPdu pdu) {
        keys(pdu, false);
        boolean transit = (pdu.flags() & 0x80) != 0;
        boolean toFullFeature = (pdu.flags() & 0x03) == 3;
        if (transit && toFullFeature && pdu.u8(36) == 0) {
            boolean h = "CRC32C".equals(headerDigest);
            boolean d = "CRC32C".equals(dataDigest);
            fromInitiator.digests(h, d);
            fromTarget.digests(h, d);
            log.debug("login complete conn={} target={} discovery={} headerDigest={} dataDigest={}", initiatorAddress,
                    targetName, discovery, h, d);
        }
    }

    private VolumeKey volume(int lun) {
        VolumeKey key = VolumeKey.iscsi(targetName != null ? targetName : targetAddress, lun);
        if (volumes.add(key)) {
            long size = geometry.sizeBytes(key);
            sink.geometry(key, size, geometry.blockSize(key));
            if (lossSeen) {
                sink.gap(key, 0, SnoopSink.WHOLE_VOLUME, "iSCSI framing lost earlier on conn " + initiatorAddress);
            }
        }
        return key;
    }

    private void command(IscsiPdu pdu) {
        ScsiCommand cmd = ScsiCommand.parse(pdu.bhs(), 32);
        VolumeKey volume = volume(pdu.lun());
        if (cmd.nature() == ScsiCommand.Nature.READ) {
            sink.readSeen(volume);
            return;
        }
        if (cmd.nature() == ScsiCommand.Nature.OTHER) {
            return;
        }
        boolean collect = (pdu.flags() & 0x20) != 0 || cmd.nature() == ScsiCommand.Nature.READ_CAPACITY_10
                || cmd.nature() == ScsiCommand.Nature.READ_CAPACITY_16;
        if (cmd.nature() == ScsiCommand.Nature.WRITE && geometry.inferBlockSize(volume, pdu.u32(20), cmd.blocks())) {
            sink.geometry(volume, geometry.sizeBytes(volume), geometry.blockSize(volume));
        }
        IscsiTask task = new IscsiTask(pdu.itt(), pdu.i32(24), volume, cmd, pdu.u32(20), collect, buffers);
        if (pdu.data().length > 0) {
            task.put(0, pdu.data());
        }
        if (pdu.dataDamaged()) {
            task.overflow = true;
        }
        if (cmd.writeNature()) {
            task.overlapTicket = overlaps.sent();
        }
        tasks.put(pdu.itt(), task);
    }

    private void dataOut(IscsiPdu pdu) {
        IscsiTask target = placing;
        placing = null;
        if (pdu.dataPlaced() && target != null) {
            // placed into the array of the task that was current at its header; that task counts it
            target.placed(pdu.dataLength());
            if (pdu.dataDamaged()) {
                target.overflow = true;
            }
            return;
        }
        IscsiTask task = tasks.get(pdu.itt());
        if (task == null) {
            VolumeKey volume = volume(pdu.lun());
            if (orphanItts.add(pdu.itt())) {
                sink.gap(volume, 0, SnoopSink.WHOLE_VOLUME, "Data-Out without its SCSI command: itt=0x"
                        + Integer.toHexString(pdu.itt()) + " conn=" + initiatorAddress);
            }
            return;
        }
        task.put(pdu.u32(40), pdu.data());
        if (pdu.dataDamaged()) {
            task.overflow = true;
        }
    }

    private void dataIn(IscsiPdu pdu) {
        IscsiTask task = tasks.get(pdu.itt());
        if (task != null && task.data != null) {
            task.put(pdu.u32(40), pdu.data());
        }
        if ((pdu.flags() & 0x01) != 0) {
            response(pdu.itt(), 0, pdu.u8(3), null);
        }
    }

    private static final int CHECK_CONDITION = 0x02;

    private void response(int itt, int response, int status, byte[] senseSegment) {
        IscsiTask task = tasks.remove(itt);
        if (task == null) {
            return;
        }
        Provenance p = new Provenance(Bus.ISCSI, initiatorAddress, targetName != null ? targetName : targetAddress,
                itt & 0xFFFF_FFFFL, task.cmdSn, task.command.opcode());
        SenseData.Verdict sense = response == 0 && status == CHECK_CONDITION ? SenseData.verdict(senseSegment) : null;
        if (sense == SenseData.Verdict.NOT_PROCESSED) {
            // SPC-4: an invalid CDB (ILLEGAL REQUEST: an LBA out of range, an invalid field or
            // opcode), or a UNIT ATTENTION, terminates the command without altering the medium.
            ended(task);
            recycle(task);
            return;
        }
        if (sense == SenseData.Verdict.DEFERRED_ERROR) {
            // An earlier command the target answered (a write it acknowledged from its cache) failed:
            // which one is unknown, so every range of the LUN is in doubt.
            sink.gap(task.volume, 0, SnoopSink.WHOLE_VOLUME, "the target reported a deferred error (an earlier"
                    + " write it had answered may not be on its medium): itt=0x" + Integer.toHexString(itt) + " conn="
                    + initiatorAddress);
        }
        if (response != 0 || status != 0) {
            unconfirmed(task, "response=" + response + " status=0x" + Integer.toHexString(status));
            recycle(task);
            return;
        }
        switch (task.command.nature()) {
            case READ_CAPACITY_10 -> capacity(task, task.receivedBytes >= 8 ? ScsiCommand.u32(task.data, 0) : -1,
                    task.receivedBytes >= 8 ? ScsiCommand.u32(task.data, 4) : -1);
            case READ_CAPACITY_16 -> capacity(task, task.receivedBytes >= 12 ? ScsiCommand.u64(task.data, 0) : -1,
                    task.receivedBytes >= 12 ? ScsiCommand.u32(task.data, 8) : -1);
            default -> {
                committer.commit(task, p);
                ended(task);
            }
        }
        recycle(task);
    }

    /** The task is gone: its array may serve the next command, unless a PDU is still being placed in it. */
    private void recycle(IscsiTask task) {
        if (task != placing) {
            buffers.give(task.data);
        }
    }

    private static int be32(byte[] b, int at) {
        return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }

    private void capacity(IscsiTask task, long lastLba, long blockLength) {
        // READ CAPACITY(10) answers 0xFFFFFFFF when the LBA does not fit: READ CAPACITY(16) follows.
        if (lastLba >= 0 && lastLba != 0xFFFF_FFFFL && geometry.learn(task.volume, lastLba, blockLength)) {
            sink.geometry(task.volume, geometry.sizeBytes(task.volume), geometry.blockSize(task.volume));
        }
    }

    private void managementResponse(IscsiPdu pdu) {
        int[] request = managementRequests.remove(pdu.itt());
        if (request == null || pdu.u8(2) != 0) {
            return;
        }
        int function = request[0];
        Iterator<IscsiTask> it = tasks.values().iterator();
        while (it.hasNext()) {
            IscsiTask t = it.next();
            boolean hit = switch (function) {
                case 1 -> t.itt == request[1];
                case 2, 4, 5 -> t.volume.unit().equals(Integer.toString(request[2]));
                case 6, 7 -> true;
                default -> false;
            };
            if (hit) {
                it.remove();
                unconfirmed(t, "aborted by task management function=" + function);
                recycle(t);
            }
        }
    }

    private void lost(String reason) {
        lossSeen = true;
        for (VolumeKey v : volumes) {
            sink.gap(v, 0, SnoopSink.WHOLE_VOLUME, "iSCSI " + reason + " conn=" + initiatorAddress);
        }
    }
}
