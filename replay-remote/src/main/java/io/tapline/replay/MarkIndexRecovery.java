package io.tapline.replay;

import io.tapline.log.RecordKind;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.undo.MarkIndex;
import io.tapline.log.undo.UndoFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code marks.idx} is an index of what the audit log already holds (every MARK record applied,
 * every ROLLBACK that dropped the marks above its target): a damaged index is rebuilt from the
 * audit log instead of taking the volume down (replication, rollback by sequence or time, images).
 */
final class MarkIndexRecovery {
    private static final Logger log = LoggerFactory.getLogger(MarkIndexRecovery.class);

    private MarkIndexRecovery() {
    }

    /** For readers (window, image): the index, or, when its file is damaged, one rebuilt in memory. */
    static MarkIndex read(Path dir) throws IOException {
        try {
            return MarkIndex.read(dir);
        } catch (UndoFormatException e) {
            log.warn("mark index damaged, read from the audit log instead dir={} problem={}", dir, e.getMessage());
            return MarkIndex.of(dir, fromAudit(dir, Long.MAX_VALUE));
        }
    }

    /**
     * For the replayer's open: the index, or, when its file is damaged, one rebuilt from the audit
     * log up to {@code lastApplied}, written in its place (the damaged file kept aside as
     * {@code marks.idx.damaged-MILLIS}) and audited.
     */
    static MarkIndex open(Path dir, String volumeId, long lastApplied, AuditLog audit) throws IOException {
        try {
            return MarkIndex.read(dir);
        } catch (UndoFormatException e) {
            List<MarkIndex.Mark> marks = fromAudit(dir, lastApplied);
            Path aside = dir.resolve(MarkIndex.FILE + ".damaged-" + System.currentTimeMillis());
            Files.move(dir.resolve(MarkIndex.FILE), aside, StandardCopyOption.ATOMIC_MOVE);
            MarkIndex rebuilt = MarkIndex.of(dir, marks);
            rebuilt.rewrite();
            String detail = "mark index damaged (" + e.getMessage() + "): rebuilt from the audit log with "
                    + marks.size() + " mark(s); the damaged file kept as " + aside.getFileName();
            audit.append(AuditType.RECOVERY, lastApplied, lastApplied, 0, 0, 0, 0, null, "replayer", detail);
            audit.sync();
            log.warn("volume={} {}", volumeId, detail);
            return rebuilt;
        }
    }

    /** The marks the audit log names, as the live index would hold them at {@code upTo}. */
    private static List<MarkIndex.Mark> fromAudit(Path dir, long upTo) throws IOException {
        List<MarkIndex.Mark> marks = new ArrayList<>();
        AuditLog.forEach(dir, e -> {
            if (e.type() == AuditType.MARK && e.recordKind() == RecordKind.MARK.wireValue()) {
                long seq = e.sequence();
                if (marks.stream().noneMatch(m -> m.sequence() == seq)) {
                    marks.add(new MarkIndex.Mark(e.detail(), seq, e.captureTimeNanos()));
                }
            } else if (e.type() == AuditType.ROLLBACK) {
                long target = e.captureTimeNanos(); // a ROLLBACK entry carries its target there
                marks.removeIf(m -> m.sequence() > target);
            }
        });
        marks.removeIf(m -> m.sequence() > upTo);
        return marks;
    }
}
