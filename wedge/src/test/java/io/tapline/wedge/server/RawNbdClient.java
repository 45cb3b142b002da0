package io.tapline.wedge.server;

import io.tapline.nbd.NbdFlags;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A deliberately dumb NBD client over a plain socket, able to send anything, for abuse tests. */
final class RawNbdClient implements Closeable {
    final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;

    record OptionReply(int option, int type, byte[] data) {
    }

    record Reply(int error, long cookie) {
    }

    RawNbdClient(InetSocketAddress address) throws IOException {
        socket = new Socket(address.getAddress(), address.getPort());
        socket.setSoTimeout(20_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
        if (in.readLong() != NbdFlags.NBDMAGIC || in.readLong() != NbdFlags.IHAVEOPT) {
            throw new IOException("bad greeting");
        }
        in.readUnsignedShort();
        out.writeInt(NbdFlags.FLAG_C_FIXED_NEWSTYLE | NbdFlags.FLAG_C_NO_ZEROES);
    }

    static RawNbdClient connected(InetSocketAddress address, String export) throws IOException {
        RawNbdClient c = new RawNbdClient(address);
        OptionReply r = c.go(export);
        if (r.type() != 1) {
            throw new IOException("GO failed: type 0x" + Integer.toHexString(r.type()));
        }
        return c;
    }

    void option(int option, byte[] data) throws IOException {
        out.writeLong(NbdFlags.IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    OptionReply readOptionReply() throws IOException {
        if (in.readLong() != NbdFlags.OPTION_REPLY_MAGIC) {
            throw new IOException("bad option reply magic");
        }
        int option = in.readInt();
        int type = in.readInt();
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    /** Sends NBD_OPT_GO and returns the final reply (ACK or an error). */
    OptionReply go(String export) throws IOException {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 + name.length + 2);
        b.putInt(name.length).put(name).putShort((short) 0);
        option(7, b.array());
        while (true) {
            OptionReply r = readOptionReply();
            if (r.type() != 3) {
                return r;
            }
        }
    }

    void request(int flags, int type, long cookie, long offset, long length, byte[] payload) throws IOException {
        out.writeInt(NbdFlags.REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt((int) length);
        if (payload != null) {
            out.write(payload);
        }
        out.flush();
    }

    Reply readReply(int dataBytes, byte[] into) throws IOException {
        if (in.readInt() != NbdFlags.SIMPLE_REPLY_MAGIC) {
            throw new IOException("bad reply magic");
        }
        int error = in.readInt();
        long cookie = in.readLong();
        if (error == 0 && dataBytes > 0) {
            in.readFully(into, 0, dataBytes);
        }
        return new Reply(error, cookie);
    }

    Reply write(long cookie, long offset, byte[] data) throws IOException {
        request(0, 1, cookie, offset, data.length, data);
        return readReply(0, null);
    }

    byte[] read(long cookie, long offset, int length) throws IOException {
        request(0, 0, cookie, offset, length, null);
        byte[] b = new byte[length];
        Reply r = readReply(length, b);
        if (r.error() != 0 || r.cookie() != cookie) {
            throw new IOException("read failed: " + r);
        }
        return b;
    }

    /** Whether the server has closed the connection: EOF or reset within the socket time-out (a time-out is not a close). */
    boolean closedByServer() {
        try {
            return in.read() < 0;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
