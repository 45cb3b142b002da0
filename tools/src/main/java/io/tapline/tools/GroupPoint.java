package io.tapline.tools;

import io.tapline.log.CycleMark;
import io.tapline.log.RecordKind;
import io.tapline.log.ResyncEpoch;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The newest instant (in the replicas' log order) that every replica of a group holds whole (cycle mode), found in their audit
 * logs on the replica side: a cycle's RESYNC_BEGIN names its freeze instant ({@link CycleMark}),
 * its RESYNC_END completes it. A group's volumes freeze at one instant, but each replica applies
 * its own copy: after a source is lost in the middle of a group cycle, some replicas hold the new
 * instant and some do not; rolling each back to the sequence of the newest common instant gives a
 * pair the writer could have produced.
 */
final class GroupPoint {
    private GroupPoint() {
    }

    /**
     * Where one replica holds the common instant.
     *
     * @param volume         the volume
     * @param frozenAtMillis the common instant
     * @param endSequence    the sequence of the cycle's RESYNC_END on this replica: roll back to it
     */
    record Member(String volume, long frozenAtMillis, long endSequence) {
    }

    /**
     * The common instant of {@code volumes} under the replayer's {@code data} folder.
     *
     * @throws IOException naming the volume when it has no audit log or no completed cycle, or when
     *                     the volumes share no completed instant or belong to different groups
     */
    static List<Member> find(Path data, List<String> volumes) throws IOException {
        Map<String, TreeMap<Long, Long>> completed = new HashMap<>();
        TreeSet<String> groups = new TreeSet<>();
        TreeSet<Long> common = null;
        for (String volume : volumes) {
            Path dir = data.resolve(volume);
            if (!Files.isDirectory(dir.resolve(AuditLog.DIR))) {
                throw new IOException("volume " + volume + ": no audit log under " + dir);
            }
            TreeMap<Long, Long> cycles = completedCycles(dir, groups);
            if (cycles.isEmpty()) {
                throw new IOException("volume " + volume + ": no completed cycle in its audit log (is it in cycle mode?)");
            }
            completed.put(volume, cycles);
            if (common == null) {
                common = new TreeSet<>(cycles.keySet());
            } else {
                common.retainAll(cycles.keySet());
            }
        }
        if (groups.size() > 1) {
            throw new IOException("the volumes belong to different groups " + groups + " (expected: one group)");
        }
        if (common == null || common.isEmpty()) {
            throw new IOException("the volumes " + volumes + " hold no common frozen instant (were they frozen as one"
                    + " group?)");
        }
        // The newest common cycle in log order (each replica's RESYNC_END sequences grow), not the largest freeze
        // time: freeze instants are wall-clock times, and after a clock step back a newer cycle's is smaller (probe Y
        // D4: the rollback printed for the oldest cycle discarded two fully copied group cycles).
        TreeMap<Long, Long> first = completed.get(volumes.get(0));
        long at = common.stream().max(java.util.Comparator.comparingLong(first::get)).orElseThrow();
        List<Member> members = new ArrayList<>();
        for (String volume : volumes) {
            members.add(new Member(volume, at, completed.get(volume).get(at)));
        }
        return members;
    }

    /** Freeze instant -> the RESYNC_END sequence of the last copy completed of it, as of the log's end. */
    static TreeMap<Long, Long> completedCycles(Path volumeDir, TreeSet<String> groups) throws IOException {
        Map<Long, CycleMark> begun = new HashMap<>();
        TreeMap<Long, Long> done = new TreeMap<>();
        AuditLog.forEach(volumeDir, e -> {
            if (e.type() == AuditType.ROLLBACK || e.type() == AuditType.RECOVERY) {
                long back = e.captureTimeNanos(); // the target sequence: cycles ended after it are undone
                done.values().removeIf(end -> end > back);
            } else if (e.type() != AuditType.RECORD) {
                return;
            } else if (e.recordKind() == RecordKind.RESYNC_BEGIN.wireValue()) {
                CycleMark mark = CycleMark.find(e.detail());
                if (mark != null) {
                    begun.put(ResyncEpoch.parse(e.detail()).id(), mark);
                    if (!mark.group().isEmpty()) {
                        groups.add(mark.group());
                    }
                }
            } else if (e.recordKind() == RecordKind.RESYNC_END.wireValue()) {
                CycleMark mark = begun.remove(ResyncEpoch.parse(e.detail()).id());
                if (mark != null) {
                    done.put(mark.frozenAtMillis(), e.sequence());
                }
            }
        });
        return done;
    }
}
