package io.tapline.log.crash;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The provider of a {@link RecordingFileSystem}: does each operation on the real file system, then records it. */
final class RecordingFileSystemProvider extends FileSystemProvider {
    private final RecordingFileSystem fs;
    private final FileOpTrace trace;

    RecordingFileSystemProvider(RecordingFileSystem fs, FileOpTrace trace) {
        this.fs = fs;
        this.trace = trace;
    }

    private static FileSystemProvider realProvider(Path real) {
        return real.getFileSystem().provider();
    }

    @Override
    public String getScheme() {
        return "recording";
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
        throw new UnsupportedOperationException("newFileSystem: a recording provider");
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        return fs;
    }

    @Override
    public Path getPath(URI uri) {
        return new RecordingPath(fs, Path.of(uri));
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        Path real = RecordingPath.unwrap(path);
        String rel = trace.relative(real);
        boolean existed = Files.exists(real);
        boolean directory = existed && Files.isDirectory(real);
        FileChannel ch = FileChannel.open(real, options, attrs);
        if (rel == null) {
            return ch;
        }
        if (directory) {
            return new RecordingFileChannel(ch, trace, -1, rel, false);
        }
        int inode;
        if (!existed || (options.contains(StandardOpenOption.CREATE_NEW))) {
            inode = trace.created(rel);
        } else {
            inode = trace.inodeOf(rel);
            if (options.contains(StandardOpenOption.TRUNCATE_EXISTING) && options.contains(StandardOpenOption.WRITE)) {
                trace.add(new FileOp.Truncate(inode, 0));
            }
        }
        return new RecordingFileChannel(ch, trace, inode, rel, options.contains(StandardOpenOption.APPEND));
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return newFileChannel(path, options, attrs);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> real = Files.newDirectoryStream(RecordingPath.unwrap(dir))) {
            for (Path p : real) {
                Path wrapped = new RecordingPath(fs, p);
                if (filter.accept(wrapped)) {
                    entries.add(wrapped);
                }
            }
        }
        return new DirectoryStream<>() {
            @Override
            public Iterator<Path> iterator() {
                return entries.iterator();
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        Path real = RecordingPath.unwrap(dir);
        Files.createDirectory(real, attrs);
        String rel = trace.relative(real);
        if (rel != null && !rel.isEmpty()) {
            trace.add(new FileOp.Mkdir(rel));
        }
    }

    @Override
    public void delete(Path path) throws IOException {
        Path real = RecordingPath.unwrap(path);
        Files.delete(real);
        String rel = trace.relative(real);
        if (rel != null) {
            trace.add(new FileOp.Unlink(rel));
        }
    }

    /** A copy is recorded as what it does to the disk: the target created (or cut to 0) and written. */
    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        Path to = RecordingPath.unwrap(target);
        Files.copy(RecordingPath.unwrap(source), to, options);
        String rel = trace.relative(to);
        if (rel == null) {
            return;
        }
        int inode;
        if (trace.known(rel)) {
            inode = trace.inodeOf(rel);
            trace.add(new FileOp.Truncate(inode, 0));
        } else {
            inode = trace.created(rel);
        }
        byte[] bytes = Files.readAllBytes(to);
        if (bytes.length > 0) {
            trace.add(new FileOp.Write(inode, 0, bytes));
        }
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        Path from = RecordingPath.unwrap(source);
        Path to = RecordingPath.unwrap(target);
        String relFrom = trace.relative(from);
        String relTo = trace.relative(to);
        int inode = relFrom == null ? -1 : trace.inodeOf(relFrom);
        Files.move(from, to, options);
        if (relFrom != null && relTo != null) {
            trace.add(new FileOp.Rename(relFrom, relTo, inode));
        }
    }

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        return Files.isSameFile(RecordingPath.unwrap(path), RecordingPath.unwrap(path2));
    }

    @Override
    public boolean isHidden(Path path) throws IOException {
        return Files.isHidden(RecordingPath.unwrap(path));
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
        return Files.getFileStore(RecordingPath.unwrap(path));
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        Path real = RecordingPath.unwrap(path);
        realProvider(real).checkAccess(real, modes);
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        Path real = RecordingPath.unwrap(path);
        return realProvider(real).getFileAttributeView(real, type, options);
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        Path real = RecordingPath.unwrap(path);
        return realProvider(real).readAttributes(real, type, options);
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
            throws IOException {
        Path real = RecordingPath.unwrap(path);
        return realProvider(real).readAttributes(real, attributes, options);
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        Path real = RecordingPath.unwrap(path);
        realProvider(real).setAttribute(real, attribute, value, options);
    }
}
