package io.tapline.log.crash;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The ordered list of operations a workload issued under a {@link RecordingFileSystem}, with the
 * inode each path names at this moment. Thread-safe.
 */
final class FileOpTrace {
    private final Path root;
    private final List<FileOp> ops = new ArrayList<>();
    private final Map<String, Integer> inodes = new HashMap<>();
    private int nextInode = 1;

    FileOpTrace(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /** The path relative to the recorded root, or null for a path outside it. */
    String relative(Path real) {
        Path abs = real.toAbsolutePath().normalize();
        if (!abs.startsWith(root)) {
            return null;
        }
        return root.relativize(abs).toString();
    }

    synchronized int size() {
        return ops.size();
    }

    synchronized List<FileOp> ops() {
        return List.copyOf(ops);
    }

    synchronized int created(String path) {
        int inode = nextInode++;
        inodes.put(path, inode);
        ops.add(new FileOp.Create(path, inode));
        return inode;
    }

    /** The inode of an existing file; a file made before recording started is refused. */
    synchronized int inodeOf(String path) {
        Integer inode = inodes.get(path);
        if (inode == null) {
            throw new IllegalStateException("file: " + path + " (expected: created while recording)");
        }
        return inode;
    }

    synchronized boolean known(String path) {
        return inodes.containsKey(path);
    }

    synchronized void add(FileOp op) {
        if (op instanceof FileOp.Rename r) {
            inodes.remove(r.from());
            inodes.put(r.to(), r.inode());
        } else if (op instanceof FileOp.Unlink u) {
            inodes.remove(u.path());
        }
        ops.add(op);
    }
}
