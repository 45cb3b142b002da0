package io.tapline.snoop;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.snoop.volume.SnoopSink;
import io.tapline.snoop.volume.VolumeKey;
import java.util.ArrayList;
import java.util.List;

/** A {@link SnoopSink} that remembers every event in order, for decoder tests. */
public final class RecordingSink implements SnoopSink {
    /** One event: kind is a {@link RecordKind} name, or "GEOMETRY" / "READ". */
    public record Event(String kind, VolumeKey volume, long offsetBytes, long lengthBytes, int flags, byte[] payload) {
        @Override
        public String toString() {
            return kind + " " + volume + " " + offsetBytes + "+" + lengthBytes + " flags=" + flags;
        }
    }

    public final List<Event> events = new ArrayList<>();

    @Override
    public void geometry(VolumeKey volume, long sizeBytes, int blockSizeBytes) {
        events.add(new Event("GEOMETRY", volume, sizeBytes, blockSizeBytes, 0, null));
    }

    @Override
    public void completed(VolumeKey volume, RecordKind kind, long offsetBytes, long lengthBytes, int flags,
            Provenance provenance, byte[] payload) {
        events.add(new Event(kind.name(), volume, offsetBytes, lengthBytes, flags, payload == null ? null : payload.clone()));
    }

    @Override
    public void gap(VolumeKey volume, long offsetBytes, long lengthBytes, String reason) {
        events.add(new Event("GAP", volume, offsetBytes, lengthBytes, 0, null));
        gapReasons.add(reason);
    }

    @Override
    public void readSeen(VolumeKey volume) {
        events.add(new Event("READ", volume, 0, 0, 0, null));
    }

    /** Each GAP's reason, in order. */
    public final List<String> gapReasons = new java.util.ArrayList<>();

    /** The events of one kind, in order. */
    public List<Event> of(String kind) {
        return events.stream().filter(e -> e.kind().equals(kind)).toList();
    }
}
