package io.tapline.log.crash;

import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A view of the default file system that records, in a {@link FileOpTrace}, every write, truncate,
 * create, rename, delete and fsync under one root: the code under test runs unchanged on
 * {@link #root()} (it only sees {@code Path}s), and a power cut's possible leftovers are built from
 * the trace afterwards.
 */
final class RecordingFileSystem extends FileSystem {
    private final FileSystem real = FileSystems.getDefault();
    private final RecordingFileSystemProvider provider;
    private final FileOpTrace trace;
    private final Path root;

    RecordingFileSystem(Path realRoot) {
        this.trace = new FileOpTrace(realRoot);
        this.provider = new RecordingFileSystemProvider(this, trace);
        this.root = new RecordingPath(this, realRoot.toAbsolutePath().normalize());
    }

    /** The recorded root, as a path of this file system. */
    Path root() {
        return root;
    }

    FileOpTrace trace() {
        return trace;
    }

    @Override
    public FileSystemProvider provider() {
        return provider;
    }

    @Override
    public void close() {
    }

    @Override
    public boolean isOpen() {
        return true;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return real.getSeparator();
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        List<Path> roots = new ArrayList<>();
        real.getRootDirectories().forEach(p -> roots.add(new RecordingPath(this, p)));
        return roots;
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        return real.getFileStores();
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return real.supportedFileAttributeViews();
    }

    @Override
    public Path getPath(String first, String... more) {
        return new RecordingPath(this, real.getPath(first, more));
    }

    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        PathMatcher m = real.getPathMatcher(syntaxAndPattern);
        return p -> m.matches(RecordingPath.unwrap(p));
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        return real.getUserPrincipalLookupService();
    }

    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException("watch: a recording file system");
    }
}
