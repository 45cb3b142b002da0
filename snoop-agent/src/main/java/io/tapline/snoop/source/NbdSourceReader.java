package io.tapline.snoop.source;

import static io.tapline.nbd.NbdFlags.FLAG_FIXED_NEWSTYLE;
import static io.tapline.nbd.NbdFlags.FLAG_NO_ZEROES;
import static io.tapline.nbd.NbdFlags.IHAVEOPT;
import static io.tapline.nbd.NbdFlags.NBDMAGIC;
import static io.tapline.nbd.NbdFlags.OPTION_REPLY_MAGIC;
import static io.tapline.nbd.NbdFlags.REQUEST_MAGIC;
import static io.tapline.nbd.NbdFlags.SIMPLE_REPLY_MAGIC;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdInfoType;
import io.tapline.nbd.NbdOption;
import io.tapline.nbd.NbdOptionReplyType;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A read-only NBD client (NBD protocol, fixed newstyle): the snoop-agent's way to read the source
 * volume it taps, for a resync. It negotiates with {@code NBD_OPT_GO} and uses simple replies
 * only (no structured replies requested), then issues {@code NBD_CMD_READ}, one at a time. It never
 * writes. Reference: NBD {@code doc/proto.md} ("Fixed newstyle negotiation", "Transmission").
 *
 * <p>Address: {@code nbd://host:port/export} (the export name may be empty). For an iSCSI LUN, a
 * read-only bridge such as {@code qemu-nbd -r iscsi://...} or nbdkit's file plugin on the backing
 * store gives it NBD.
 *
 * <p>Thread-safe: requests are serialized.
 */
public final class NbdSourceReader implements Closeable {
    /** Largest read issued at once (servers must accept at least 32 MiB; stay well below). */
    static final int MAX_READ_BYTES = 1 << 20;

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final String address;
    private long sizeBytes;
    private long cookie;

    private NbdSourceReader(Socket socket, String address, long sizeBytes) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(new java.io.BufferedInputStream(socket.getInputStream(), 1 << 16));
        this.out = socket.getOutputStream();
        this.address = address;
        this.sizeBytes = sizeBytes;
    }

    /**
     * Connects to {@code nbd://host:port/export} and negotiates.
     *
     * @throws IllegalArgumentException when the address is not an nbd:// URI with host and port
     * @throws IOException when the server refuses or speaks something else
     */
    public static NbdSourceReader open(String uri) throws IOException {
        URI u;
        try {
            u = new URI(uri);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("source: " + uri + " (expected: nbd://HOST:PORT/EXPORT)");
        }
        if (!"nbd".equals(u.getScheme()) || u.getHost() == null) {
            throw new IllegalArgumentException("source: " + uri + " (expected: nbd://HOST:PORT/EXPORT)");
        }
        int port = u.getPort() < 0 ? 10809 : u.getPort();
        String export = u.getPath() == null || u.getPath().isEmpty() ? "" : u.getPath().substring(1);
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(u.getHost(), port), 10_000);
            socket.setSoTimeout(60_000); // a server that stops answering fails the read, never hangs it
            socket.setTcpNoDelay(true);
            NbdSourceReader r = new NbdSourceReader(socket, uri, 0);
            r.sizeBytes = negotiate(r.in, r.out, export, uri);
            return r;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private static long negotiate(DataInputStream ch, OutputStream out, String export, String uri) throws IOException {
        ByteBuffer hello = read(ch, 18);
        if (hello.getLong() != NBDMAGIC || hello.getLong() != IHAVEOPT) {
            throw new IOException("source " + uri + ": not a newstyle NBD server (expected: NBDMAGIC IHAVEOPT)");
        }
        int serverFlags = hello.getShort() & 0xFFFF;
        if ((serverFlags & FLAG_FIXED_NEWSTYLE) == 0) {
            throw new IOException("source " + uri + ": server flags: " + serverFlags + " (expected: FIXED_NEWSTYLE)");
        }
        ByteBuffer clientFlags = ByteBuffer.allocate(4).putInt(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES));
        write(out, clientFlags.flip());
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer go = ByteBuffer.allocate(8 + 4 + 4 + 4 + name.length + 2);
        go.putLong(IHAVEOPT).putInt(NbdOption.GO.wireValue()).putInt(4 + name.length + 2).putInt(name.length).put(name).putShort((short) 0);
        write(out, go.flip());
        long size = -1;
        while (true) {
            ByteBuffer head = read(ch, 20);
            if (head.getLong() != OPTION_REPLY_MAGIC) {
                throw new IOException("source " + uri + ": option reply magic (expected: 0x3e889045565a9)");
            }
            head.getInt(); // the option
            int type = head.getInt();
            int length = head.getInt();
            if (length < 0 || length > (1 << 20)) {
                throw new IOException("source " + uri + ": option reply length: " + length + " (expected: 0..1 MiB)");
            }
            ByteBuffer data = read(ch, length);
            if (type == NbdOptionReplyType.ACK.wireValue()) {
                break;
            }
            if (type == NbdOptionReplyType.INFO.wireValue() && length >= 12
                    && data.getShort(0) == NbdInfoType.EXPORT.wireValue()) {
                size = data.getLong(2);
            } else if (type < 0) {
                String message = new String(data.array(), StandardCharsets.UTF_8);
                throw new IOException("source " + uri + ": export \"" + export + "\" refused: NBD_REP_ERR "
                        + (type & 0x7FFFFFFF) + (message.isEmpty() ? "" : " (" + message + ")"));
            }
        }
        if (size < 0) {
            throw new IOException("source " + uri + ": no NBD_INFO_EXPORT before NBD_REP_ACK");
        }
        return size;
    }

    /** The export's size. */
    public long sizeBytes() {
        return sizeBytes;
    }

    /** Reads {@code dst.remaining()} bytes at {@code offsetBytes} (in reads of at most 1 MiB). */
    public synchronized void read(long offsetBytes, ByteBuffer dst) throws IOException {
        if (offsetBytes < 0 || offsetBytes + dst.remaining() > sizeBytes) {
            throw new IllegalArgumentException("read: " + offsetBytes + "+" + dst.remaining() + " (expected: inside "
                    + sizeBytes + " bytes)");
        }
        long offset = offsetBytes;
        while (dst.hasRemaining()) {
            int n = Math.min(MAX_READ_BYTES, dst.remaining());
            long id = ++cookie;
            ByteBuffer req = ByteBuffer.allocate(28);
            req.putInt(REQUEST_MAGIC).putShort((short) 0).putShort((short) NbdCommand.READ.wireValue()).putLong(id).putLong(offset).putInt(n);
            write(out, req.flip());
            ByteBuffer reply = read(in, 16);
            if (reply.getInt() != SIMPLE_REPLY_MAGIC) {
                throw new IOException("source " + address + ": reply magic (expected: a simple reply)");
            }
            int error = reply.getInt();
            long got = reply.getLong();
            if (got != id) {
                throw new IOException("source " + address + ": reply cookie: " + got + " (expected: " + id + ")");
            }
            if (error != 0) {
                throw new IOException("source " + address + ": READ " + offset + "+" + n + " failed: NBD error " + error);
            }
            if (dst.hasArray()) {
                in.readFully(dst.array(), dst.arrayOffset() + dst.position(), n);
                dst.position(dst.position() + n);
            } else {
                byte[] tmp = new byte[n];
                in.readFully(tmp);
                dst.put(tmp);
            }
            offset += n;
        }
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            ByteBuffer disc = ByteBuffer.allocate(28);
            disc.putInt(REQUEST_MAGIC).putShort((short) 0).putShort((short) NbdCommand.DISC.wireValue()).putLong(++cookie).putLong(0).putInt(0);
            write(out, disc.flip());
        } catch (IOException e) {
            // the connection is going away anyway
        } finally {
            socket.close();
        }
    }

    @Override
    public String toString() {
        return "NbdSourceReader[" + address + ", " + sizeBytes + " bytes]";
    }

    private static ByteBuffer read(DataInputStream in, int n) throws IOException {
        byte[] b = new byte[n];
        try {
            in.readFully(b);
        } catch (EOFException e) {
            throw new EOFException("source: connection closed by the NBD server");
        }
        return ByteBuffer.wrap(b);
    }

    private static void write(OutputStream out, ByteBuffer b) throws IOException {
        out.write(b.array(), b.arrayOffset() + b.position(), b.remaining());
        out.flush();
    }
}
