package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdOptionReplyType;
import java.util.Objects;

/** What the server sends during the handshake; encoded by {@link NbdHandshakeEncoder}. */
public sealed interface NbdHandshakeReply
        permits NbdHandshakeReply.Greeting, NbdHandshakeReply.OptionReply, NbdHandshakeReply.ExportNameReply {

    /** NBDMAGIC, IHAVEOPT, 16-bit handshake flags. */
    record Greeting(int handshakeFlags) implements NbdHandshakeReply {
    }

    /**
     * A fixed-newstyle option reply: magic, option, reply type, length, data.
     *
     * @param option the option being answered, as the client sent it
     */
    record OptionReply(int option, NbdOptionReplyType type, byte[] data) implements NbdHandshakeReply {
        public OptionReply {
            Objects.requireNonNull(type, "type");
            data = data == null ? new byte[0] : data;
        }
    }

    /** The answer to NBD_OPT_EXPORT_NAME: size, transmission flags, 124 zero bytes unless NO_ZEROES. */
    record ExportNameReply(long sizeBytes, int transmissionFlags, boolean noZeroes) implements NbdHandshakeReply {
    }
}
