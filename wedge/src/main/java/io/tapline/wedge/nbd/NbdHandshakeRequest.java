package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdFlags;
import io.tapline.nbd.NbdOption;
/** What {@link NbdOptionDecoder} emits during the handshake: the client flags once, then options. */
public sealed interface NbdHandshakeRequest permits NbdHandshakeRequest.ClientFlags, NbdHandshakeRequest.Option,
        NbdHandshakeRequest.TooBig {

    /** The 32-bit client flags that follow the server greeting. */
    record ClientFlags(int flags) implements NbdHandshakeRequest {
        public boolean noZeroes() {
            return (flags & NbdFlags.FLAG_C_NO_ZEROES) != 0;
        }
    }

    /**
     * One option request.
     *
     * @param option the option as sent (see {@link NbdOption#fromWireValue})
     * @param data   the option data, owned by the receiver
     */
    record Option(int option, byte[] data) implements NbdHandshakeRequest {
        public NbdOption known() {
            return NbdOption.fromWireValue(option);
        }
    }

    /**
     * An option whose data was longer than {@link NbdOptionDecoder#MAX_OPTION_BYTES}: skipped, to
     * be answered NBD_REP_ERR_TOO_BIG (proto.md: options the server cannot take are errored, not
     * a reason to disconnect).
     */
    record TooBig(int option, long lengthBytes) implements NbdHandshakeRequest {
    }
}
