package io.tapline.log;

import java.nio.charset.StandardCharsets;

/**
 * The payload text of {@link RecordKind#RESYNC_BEGIN} and {@link RecordKind#RESYNC_END} records:
 * {@code "resync <id-hex> <scope>[: <reason>]"}, where {@code scope} is {@code full} (every chunk
 * compared) or {@code chunks} (only tracked chunks). The id ties an END to its BEGIN and to the
 * chunk-hash requests of the same epoch.
 *
 * @param id     the epoch's id (random, never 0)
 * @param full   whether the epoch compares the whole volume
 * @param reason why it started (BEGIN) or how it ended (END); may be empty
 */
public record ResyncEpoch(long id, boolean full, String reason) {

    /** The UTF-8 payload of the record. */
    public byte[] payload() {
        return text().getBytes(StandardCharsets.UTF_8);
    }

    /** The payload as text. */
    public String text() {
        return "resync " + Long.toHexString(id) + (full ? " full" : " chunks") + (reason.isEmpty() ? "" : ": " + reason);
    }

    /**
     * Parses a RESYNC_BEGIN / RESYNC_END payload.
     *
     * @throws RecordFormatException when the text is not {@code "resync <id> <scope>..."}
     */
    public static ResyncEpoch parse(String text) {
        if (!text.startsWith("resync ")) {
            throw new RecordFormatException("resync text: \"" + text + "\" (expected: resync <id> full|chunks)");
        }
        String rest = text.substring("resync ".length());
        int colon = rest.indexOf(':');
        String head = colon < 0 ? rest : rest.substring(0, colon);
        String reason = colon < 0 ? "" : rest.substring(colon + 1).strip();
        String[] parts = head.strip().split(" ");
        try {
            long id = Long.parseUnsignedLong(parts[0], 16);
            boolean full = parts.length > 1 && parts[1].equals("full");
            return new ResyncEpoch(id, full, reason);
        } catch (NumberFormatException e) {
            throw new RecordFormatException("resync id: \"" + parts[0] + "\" (expected: hexadecimal)");
        }
    }
}
