package io.tapline.replay;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * Which other processes hold a file open, from {@code /proc/PID/fd} (Linux): a file some process
 * writes through a descriptor must not be replaced by a rename (the process would go on writing the
 * old, unlinked inode, and what it writes from then on is lost when it closes it). Processes whose
 * descriptors this user cannot read are not seen; on a system without {@code /proc} nothing is.
 */
final class OpenFiles {
    private OpenFiles() {
    }

    /** "PID (command)" of each other process holding {@code file} open; empty when none is seen. */
    static List<String> holders(Path file) throws IOException {
        List<String> out = new ArrayList<>();
        Path proc = Paths.get("/proc");
        if (!Files.isDirectory(proc) || !Files.exists(file)) {
            return out;
        }
        String target = file.toRealPath().toString();
        long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc, p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path pid : pids) {
                if (Long.parseLong(pid.getFileName().toString()) == self) {
                    continue;
                }
                if (holds(pid.resolve("fd"), target)) {
                    out.add(pid.getFileName() + " (" + command(pid) + ")");
                }
            }
        }
        return out;
    }

    private static boolean holds(Path fdDir, String target) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDir)) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals(target)) {
                        return true;
                    }
                } catch (IOException | UnsupportedOperationException e) {
                    // closed meanwhile, or not a link
                }
            }
        } catch (IOException e) {
            // the process ended, or its descriptors are not ours to read
        }
        return false;
    }

    private static String command(Path pid) {
        try {
            String cmd = Files.readString(pid.resolve("cmdline")).replace('\0', ' ').strip();
            return cmd.length() > 80 ? cmd.substring(0, 80) + "..." : cmd;
        } catch (IOException e) {
            return "?";
        }
    }
}
