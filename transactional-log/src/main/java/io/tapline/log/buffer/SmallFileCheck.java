package io.tapline.log.buffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The checks every small control file of the buffer shares (cursor files, {@code buffer.state}):
 * a layout of {@code magic(4) version(2) ... textLength(1) text(n) crc32c(4)} where the fixed part
 * ends with the one-byte length of a trailing text and the CRC-32C covers everything before it
 * ({@link #sealed} appends it). Stateless.
 */
final class SmallFileCheck {
    private SmallFileCheck() {
    }

    /**
     * Appends the CRC-32C of the bytes {@code buf} holds before its position (the layout's last
     * field) and returns it flipped, ready to write.
     */
    static ByteBuffer sealed(ByteBuffer buf) {
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 0, buf.position());
        return buf.putInt((int) crc.getValue()).flip();
    }

    /**
     * Encodes the layout that cursor and buffer id files share: {@code magic(4) version(2)
     * reserved(2)=0 first(8) second(8) textLength(1) text(n) crc32c(4)} (29 + n bytes).
     */
    static ByteBuffer encodeTwoLongs(int magic, int version, long first, long second, byte[] text) {
        ByteBuffer buf = ByteBuffer.allocate(29 + text.length);
        buf.putInt(magic).putShort((short) version).putShort((short) 0).putLong(first).putLong(second)
                .put((byte) text.length).put(text);
        return sealed(buf);
    }

    /**
     * Checks size, magic, version, text length and CRC of {@code buf}.
     *
     * @param what           the file's kind, for the message ("cursor", "state")
     * @param fixedBytes     bytes of the layout without the text
     * @param lengthOffset   offset of the one-byte text length (the text follows it)
     * @param lengthField    the length field's name, for the message
     * @param repair         what the operator should do, appended to corruption messages
     * @return the text length n
     */
    static int check(ByteBuffer buf, Path file, String what, int magic, int version, int fixedBytes,
            int lengthOffset, String lengthField, String repair) throws IOException {
        if (buf.remaining() < fixedBytes + 1) {
            throw new BufferCorruptException(file, buf.remaining(),
                    what + ": " + buf.remaining() + " bytes (expected: >= " + (fixedBytes + 1) + ")", repair);
        }
        if (buf.getInt(0) != magic) {
            throw new BufferCorruptException(file, 0,
                    String.format("magic: 0x%08x (expected: 0x%08x)", buf.getInt(0), magic), repair);
        }
        int actualVersion = buf.getShort(4) & 0xFFFF;
        if (actualVersion != version) {
            throw new UnsupportedFormatVersionException(file, actualVersion, version, version);
        }
        int n = buf.get(lengthOffset) & 0xFF;
        if (fixedBytes + n != buf.remaining()) {
            throw new BufferCorruptException(file, lengthOffset, lengthField + ": " + n + " (expected: "
                    + (buf.remaining() - fixedBytes) + " from the file size)", repair);
        }
        int crcOffset = lengthOffset + 1 + n;
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 0, crcOffset);
        if (buf.getInt(crcOffset) != (int) crc.getValue()) {
            throw new BufferCorruptException(file, crcOffset, String.format("crc32c: 0x%08x (expected: 0x%08x)",
                    buf.getInt(crcOffset), (int) crc.getValue()), repair);
        }
        return n;
    }
}
