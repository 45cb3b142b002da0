package io.tapline.tools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * An ext4 whose disk fails every write while {@link #trigger} exists, or stops answering while
 * {@link #suspend}ed: nbdkit's file plugin behind its error filter, as a file through nbdfuse, as
 * a block device through a loop device. {@link #close} lets a suspended nbdkit go on, unmounts and
 * detaches everything, then stops the nbdkit it started (by pid). Needs root, FUSE, nbdkit, nbdfuse.
 */
final class FaultyExt4 implements AutoCloseable {
    private static final Duration PEER = Duration.ofMinutes(2);
    final Path mnt;
    final Path trigger;
    private final Path pidFile;
    private NbdfuseDisk disk;
    private boolean suspended;

    private FaultyExt4(Path mnt, Path trigger, Path pidFile) {
        this.mnt = mnt;
        this.trigger = trigger;
        this.pidFile = pidFile;
    }

    static FaultyExt4 mount(Path dir, String name) throws Exception {
        Path backing = dir.resolve(name + "-disk.img");
        try (var f = new java.io.RandomAccessFile(backing.toFile(), "rw")) {
            f.setLength(128L << 20);
        }
        int port = Peers.freePort();
        FaultyExt4 fs = new FaultyExt4(dir.resolve(name + "-fs"), dir.resolve(name + "-fail-writes"),
                dir.resolve(name + "-nbdkit.pid"));
        Peers.ok(PEER, "nbdkit", "-P", fs.pidFile.toString(), "-p", Integer.toString(port), "-i", "127.0.0.1",
                "--filter=error", "file", backing.toString(), "error-pwrite=EIO", "error-pwrite-rate=100%",
                "error-pwrite-file=" + fs.trigger);
        try {
            fs.disk = NbdfuseDisk.attach(dir, name, "nbd://127.0.0.1:" + port);
            Peers.ok(PEER, "mkfs.ext4", "-q", "-F", fs.disk.device());
            fs.mountDisk();
            return fs;
        } catch (Exception | AssertionError e) {
            fs.close();
            throw e;
        }
    }

    private void mountDisk() throws Exception {
        disk.mount(mnt);
        Peers.ok(PEER, "mount", "-o", "remount,commit=60,noatime", mnt.toString()); // no journal commit meanwhile
    }

    void remount() throws Exception {
        Peers.run(PEER, "umount", mnt.toString()).orFail("umount " + mnt);
        disk.mount(mnt);
    }

    /** Makes {@code link} a symbolic link to a new directory of its name on this file system; returns {@code link}. */
    Path holds(Path link) throws java.io.IOException {
        return Files.createSymbolicLink(link, Files.createDirectories(mnt.resolve(link.getFileName())));
    }

    /**
     * Stops the disk's server (SIGSTOP): every I/O that reaches the disk waits, as on a SAN path
     * that went away with its queue kept, until {@link #resume}.
     */
    void suspend() throws Exception {
        Peers.ok(PEER, "kill", "-STOP", nbdkitPid());
        suspended = true;
    }

    /** Lets a {@link #suspend}ed disk answer again (SIGCONT); nothing when it is not suspended. */
    void resume() throws Exception {
        if (!suspended) {
            return;
        }
        Peers.ok(PEER, "kill", "-CONT", nbdkitPid());
        suspended = false;
    }

    private String nbdkitPid() throws java.io.IOException {
        return Files.readString(pidFile).trim();
    }

    @Override
    public void close() throws Exception {
        resume();
        try {
            if (disk != null) {
                disk.close();
            }
        } finally {
            if (Files.exists(pidFile)) {
                ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim())).ifPresent(ProcessHandle::destroy);
            }
        }
    }
}
