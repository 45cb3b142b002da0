package io.tapline.log.crash;

/**
 * One file-system operation a workload issued, as a power cut sees it. Paths are relative to the
 * recorded root; file contents are named by inode numbers, so a rename keeps its data.
 */
sealed interface FileOp {

    /** A new, empty file linked at {@code path}. */
    record Create(String path, int inode) implements FileOp {
    }

    /** A new directory at {@code path}. */
    record Mkdir(String path) implements FileOp {
    }

    /** {@code bytes} written at {@code offset} of {@code inode}. */
    record Write(int inode, long offset, byte[] bytes) implements FileOp {
    }

    /** {@code inode} cut (or extended) to {@code size}. */
    record Truncate(int inode, long size) implements FileOp {
    }

    /** The link {@code from} renamed over {@code to} (a metadata operation, like every link change). */
    record Rename(String from, String to, int inode) implements FileOp {
    }

    /** The link at {@code path} removed. */
    record Unlink(String path) implements FileOp {
    }

    /** fsync/fdatasync of {@code inode}: its data and size are durable. */
    record SyncFile(int inode) implements FileOp {
    }

    /** fsync of the directory {@code path}: its links are durable. */
    record SyncDir(String path) implements FileOp {
    }

    /** The directory a path lives in ("" for the root). */
    static String parentOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash);
    }
}
