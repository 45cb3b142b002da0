package io.tapline.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * An NBD export as a block device, the way a host uses it: nbdfuse exposes the export as a file,
 * losetup turns that into a loop device; {@link #mount} mounts it. {@link #close} undoes all of
 * it, even after a failure. Needs root, FUSE and loop devices (CI has them).
 */
final class NbdfuseDisk implements AutoCloseable {
    private static final Duration PEER = Duration.ofMinutes(3);

    private final Path fuseDir;
    private final Process nbdfuse;
    private String loop;
    private Path mounted;

    private NbdfuseDisk(Path fuseDir, Process nbdfuse) {
        this.fuseDir = fuseDir;
        this.nbdfuse = nbdfuse;
    }

    /** Connects nbdfuse to {@code uri} under {@code workDir/name} and attaches a loop device. */
    static NbdfuseDisk attach(Path workDir, String name, String uri) throws IOException, InterruptedException {
        Path fuseDir = Files.createDirectories(workDir.resolve(name + "-fuse"));
        Path pidFile = workDir.resolve(name + "-nbdfuse.pid");
        Process p = new ProcessBuilder("nbdfuse", "-P", pidFile.toString(), fuseDir.resolve("disk").toString(), uri)
                .redirectErrorStream(true).redirectOutput(workDir.resolve(name + "-nbdfuse.log").toFile()).start();
        NbdfuseDisk disk = new NbdfuseDisk(fuseDir, p);
        try {
            awaitFile(pidFile, p);
            disk.loop = Peers.ok(PEER, "losetup", "-f", "--show", fuseDir.resolve("disk").toString()).trim();
            return disk;
        } catch (IOException | InterruptedException | RuntimeException | AssertionError e) {
            disk.close();
            throw e;
        }
    }

    /** The loop device. */
    String device() {
        return loop;
    }

    /** Mounts the device at {@code mnt} (created). */
    Path mount(Path mnt) throws IOException, InterruptedException {
        Peers.ok(PEER, "mount", loop, Files.createDirectories(mnt).toString());
        mounted = mnt;
        return mnt;
    }

    /** Syncs and unmounts. */
    void unmount() throws IOException, InterruptedException {
        if (mounted != null) {
            Peers.ok(PEER, "sync");
            Peers.ok(PEER, "umount", mounted.toString());
            mounted = null;
        }
    }

    @Override
    public void close() throws InterruptedException, IOException {
        if (mounted != null) {
            Peers.run(PEER, "umount", "-l", mounted.toString());
            mounted = null;
        }
        if (loop != null) {
            Peers.run(PEER, "losetup", "-d", loop);
            loop = null;
        }
        Peers.run(PEER, "fusermount3", "-u", fuseDir.toString());
        if (!nbdfuse.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
            nbdfuse.destroyForcibly();
        }
    }

    /** Waits until nbdfuse ({@code owner}) wrote its pid file {@code file}. */
    static void awaitFile(Path file, Process owner) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(file) && Files.size(file) > 0) {
                return;
            }
            if (!owner.isAlive()) {
                throw new AssertionError("nbdfuse exited " + owner.exitValue());
            }
            owner.waitFor(50, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        throw new AssertionError("nbdfuse did not write " + file + " within 30 s");
    }
}
