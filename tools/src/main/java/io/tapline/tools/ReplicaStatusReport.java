package io.tapline.tools;

import io.tapline.replay.ReplayServer;
import io.tapline.replay.VolumeRole;
import io.tapline.replay.VolumeStatus;
import io.tapline.tools.cli.CliFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code tapline status --data DIR}: the replica side of a node, read from its files: per volume
 * its role and generation (who promoted or demoted it, when, after which sequence), the
 * replica's state, and the images kept aside by demotions; whether a replayer runs there (the
 * holder of its lock): with none, a replica it left mid-group says so.
 */
final class ReplicaStatusReport {
    private ReplicaStatusReport() {
    }

    /** In a replayer's data directory: the NBD endpoint its volumes are served on, empty without --nbd. */
    static final String NBD_ENDPOINT_FILE = "nbd-endpoint";

    /** The volumes of {@code data} whose role here is primary. */
    static List<String> primaryVolumes(Path data) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(data)) {
            for (Path d : (Iterable<Path>) dirs.filter(d -> Files.isRegularFile(d.resolve(VolumeRole.FILE)))::iterator) {
                if (VolumeRole.read(d).primary()) {
                    out.add(d.getFileName().toString());
                }
            }
        }
        java.util.Collections.sort(out);
        return out;
    }

    static Map<String, Object> of(Path data, String onlyVolume) throws IOException {
        if (!Files.isDirectory(data)) {
            throw new CliFailure("data: " + data + " (expected: an existing replayer data directory)");
        }
        List<Map<String, Object>> volumes = new ArrayList<>();
        Map<String, VolumeStatus> replicas = new java.util.TreeMap<>();
        for (VolumeStatus s : ReplayServer.readVolumeStatus(data)) {
            replicas.put(s.volumeId(), s);
        }
        try (Stream<Path> dirs = Files.list(data)) { // a node's own volume has a role before any replica data
            dirs.filter(d -> Files.isRegularFile(d.resolve(VolumeRole.FILE)))
                    .forEach(d -> replicas.putIfAbsent(d.getFileName().toString(), null));
        }
        long pid = ReplayServer.runningReplayer(data);
        // A replayer that runs without --nbd serves no promoted volume (probe Q D8: status said "served read-write").
        Path endpointFile = data.resolve(NBD_ENDPOINT_FILE);
        String servesNoHost = pid == io.tapline.log.ExclusiveLock.NOBODY ? "no replayer or wedge node runs on this folder"
                : pid > 0 && Files.isRegularFile(endpointFile) && Files.readString(endpointFile).isBlank()
                ? "the running replayer serves no NBD endpoint (started without --nbd)" : null;
        for (Map.Entry<String, VolumeStatus> e : replicas.entrySet()) {
            if (onlyVolume == null || onlyVolume.equals(e.getKey())) {
                volumes.add(volume(data.resolve(e.getKey()), e.getKey(), e.getValue(), servesNoHost));
            }
        }
        if (onlyVolume != null && volumes.isEmpty()) {
            throw new CliFailure("volume: " + onlyVolume + " (expected: a volume in " + data + ")");
        }
        if (volumes.isEmpty() && looksLikeABuffer(data)) {
            throw new CliFailure("--data: " + data + " is a capture buffer, not a replayer's data directory (expected:"
                    + " tapline status --buffer " + data + ")", 2);
        }
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("data", data.toAbsolutePath().toString());
        report.put("replayer", pid > 0 ? "running (pid " + pid + ")"
                : pid == io.tapline.log.ExclusiveLock.NOBODY ? "not running" : "unknown");
        report.put("volumes", volumes);
        return report;
    }

    /** A directory whose volumes hold a capture buffer's state file. */
    private static boolean looksLikeABuffer(Path data) throws IOException {
        try (Stream<Path> dirs = Files.list(data)) {
            return dirs.anyMatch(d -> Files.isRegularFile(d.resolve(io.tapline.log.buffer.CaptureBuffer.STATE_FILE)));
        }
    }

    private static Map<String, Object> volume(Path dir, String volumeId, VolumeStatus s, String servesNoHost)
            throws IOException {
        VolumeRole role = VolumeRole.read(dir);
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("volume", volumeId);
        v.put("role", role.roleName());
        v.put("generation", role.generation());
        if (role.millis() != 0) {
            v.put("roleChanged", Instant.ofEpochMilli(role.millis()).toString());
            v.put("roleChangedBy", role.actor());
            v.put("roleChangedAtSeq", role.sequence());
        }
        Path splitBrain = dir.resolve(ReplicaExports.SPLIT_BRAIN);
        if (Files.exists(splitBrain)) {
            v.put("state", "split-brain");
            v.put("reason", Files.readString(splitBrain).strip());
        } else if (role.primary() && Files.exists(dir.resolve(ReplicaExports.SUPERSEDED))) {
            v.put("state", "superseded");
            v.put("reason", Files.readString(dir.resolve(ReplicaExports.SUPERSEDED)).strip());
        } else if (role.primary() && servesNoHost != null) {
            v.put("state", "primary-unserved");
            v.put("reason", "no host can reach it: " + servesNoHost + "; start it (a replayer with --nbd HOST:PORT, or the"
                    + " wedge node), or demote the volume");
        } else if (role.primary()) {
            v.put("state", "primary");
            v.put("peers", role.peers().isEmpty() ? List.of() : List.of(role.peers().split(",")));
            // A replica promoted with --force while not consistent serves an image no host ever saw (probe s62
            // AE D4: a copy cut mid-cycle, e2fsck fixing counts, a torn database, and status read as any primary).
            boolean promotedTorn = s != null && s.consistentSequence() < role.sequence();
            v.put("reason", "served read-write on this node's NBD endpoint (a replayer started with --nbd); sources of"
                    + " older generations are fenced" + (promotedTorn ? "; PROMOTED NOT CONSISTENT: promoted with"
                    + " --force at seq " + role.sequence() + " while the replica was consistent only at seq "
                    + s.consistentSequence() + " (a resync or a cycle's copy cut short): the image it serves may be"
                    + " torn; check the host's file system and data" : ""));
            v.put("promotedConsistent", !promotedTorn);
        } else if (s == null) {
            v.put("state", "standby");
            v.put("reason", "nothing received yet from the primary of generation " + role.generation());
        } else {
            v.put("state", s.state());
            v.put("reason", s.reason().isEmpty() ? null : s.reason());
        }
        v.put("lastApplied", s == null ? 0 : s.lastAppliedSequence());
        v.put("consistentSequence", s == null ? 0 : s.consistentSequence());
        v.put("discardedImages", discardedImages(dir));
        return v;
    }

    private static List<String> discardedImages(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("discarded-") && n.endsWith(".img"))
                    .sorted().forEach(out::add);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static String human(Map<String, Object> report) {
        StringBuilder b = new StringBuilder("data " + report.get("data") + " (replayer " + report.get("replayer")
                + ")\n");
        for (Map<String, Object> v : (List<Map<String, Object>>) report.get("volumes")) {
            b.append("  ").append(v.get("volume")).append(": ").append(v.get("role")).append(" generation ")
                    .append(v.get("generation")).append(", ").append(v.get("state")).append(" at seq ")
                    .append(v.get("lastApplied"));
            if (v.get("roleChanged") != null) {
                b.append(" (role set by ").append(v.get("roleChangedBy")).append(" at ").append(v.get("roleChanged"))
                        .append(" after seq ").append(v.get("roleChangedAtSeq")).append(')');
            }
            b.append('\n');
            if (v.get("reason") != null) {
                b.append("    ").append(v.get("reason")).append('\n');
            }
            for (Object img : (List<Object>) v.get("discardedImages")) {
                b.append("    kept aside: ").append(img).append('\n');
            }
        }
        return b.toString().stripTrailing();
    }
}
