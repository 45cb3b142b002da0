package io.tapline.log;

import java.nio.charset.StandardCharsets;

/**
 * The payload text of {@link RecordKind#RESYNC_BEGIN} and {@link RecordKind#RESYNC_END} records:
 * {@code "resync <id-hex> <scope>[ copy-since=<seq>][: <reason>]"}, where {@code scope} is
 * {@code full} (every chunk compared) or {@code chunks} (only tracked chunks). The id ties an END
 * to its BEGIN and to the chunk-hash requests of the same epoch.
 *
 * <p>A <i>copy</i> epoch ({@code copy-since} present) compares nothing: the source sends every
 * chunk in its scope whole, because no replica can be asked for hashes (a Kafka link). Every write
 * since buffer sequence {@code copy-since} that the log did not carry is in those chunks, so a
 * replica consistent at or after it (above 0) is healed by the copy; with {@code full} every
 * chunk of the volume is sent and any replica is healed. Replicas from before copy epochs read
 * the token as part of the scope and ignore it.
 *
 * <p>A <i>resuming</i> epoch ({@code resumes=<id-hex>}, a comparing epoch of tracked chunks)
 * continues epoch {@code resumes}, which was abandoned halfway (a link lost, a replayer restarted):
 * the source put the chunks that epoch had not compared yet back into its tracked set, so this
 * epoch's scope holds every chunk the abandoned one still owed. A replica still inside the
 * abandoned epoch carries its state into this one instead of counting the BEGIN as a GAP
 * (which made it out of sync and cost a whole-volume epoch after every interruption). Replicas
 * from before it ignore the token and count the BEGIN as a GAP, as before: one more epoch, never a
 * replica called consistent that is not.
 *
 * @param id          the epoch's id (random, never 0)
 * @param full        whether the epoch compares (or, copying, sends) the whole volume
 * @param reason      why it started (BEGIN) or how it ended (END); may be empty
 * @param copiedSince for a copy epoch, the sequence since which its chunks hold every write the log
 *                    did not carry ({@code >= 0}); {@link #NOT_A_COPY} for a comparing epoch
 * @param resumes     the abandoned epoch this one continues, 0 when none
 */
public record ResyncEpoch(long id, boolean full, String reason, long copiedSince, long resumes) {
    /** {@link #copiedSince} of an epoch that compares. */
    public static final long NOT_A_COPY = -1;

    /** A comparing epoch. */
    public ResyncEpoch(long id, boolean full, String reason) {
        this(id, full, reason, NOT_A_COPY);
    }

    /** An epoch that resumes none. */
    public ResyncEpoch(long id, boolean full, String reason, long copiedSince) {
        this(id, full, reason, copiedSince, 0);
    }

    public ResyncEpoch {
        if (resumes != 0 && (full || copiedSince >= 0)) {
            throw new IllegalArgumentException("resumes: " + Long.toHexString(resumes)
                    + " (expected: only a comparing epoch of tracked chunks resumes another)");
        }
    }

    /** Whether the epoch sends its chunks without comparing them. */
    public boolean copy() {
        return copiedSince >= 0;
    }

    /** The UTF-8 payload of the record. */
    public byte[] payload() {
        return text().getBytes(StandardCharsets.UTF_8);
    }

    /** The payload as text. */
    public String text() {
        return "resync " + Long.toHexString(id) + (full ? " full" : " chunks")
                + (copy() ? " copy-since=" + copiedSince : "")
                + (resumes != 0 ? " resumes=" + Long.toHexString(resumes) : "") + (reason.isEmpty() ? "" : ": " + reason);
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
            long copiedSince = NOT_A_COPY;
            long resumes = 0;
            for (int i = 2; i < parts.length; i++) {
                if (parts[i].startsWith("copy-since=")) {
                    copiedSince = Long.parseLong(parts[i].substring("copy-since=".length()));
                } else if (parts[i].startsWith("resumes=")) {
                    resumes = Long.parseUnsignedLong(parts[i].substring("resumes=".length()), 16);
                }
            }
            if (copiedSince < NOT_A_COPY) {
                throw new RecordFormatException("resync copy-since: " + copiedSince + " (expected: >= 0)");
            }
            return new ResyncEpoch(id, full, reason, copiedSince, resumes);
        } catch (NumberFormatException e) {
            throw new RecordFormatException("resync id, copy-since or resumes: \"" + head.strip()
                    + "\" (expected: <hex id> full|chunks [copy-since=<decimal>] [resumes=<hex id>])");
        } catch (IllegalArgumentException e) { // the record's own rule: resumes only in a comparing epoch of chunks
            throw new RecordFormatException("resync " + e.getMessage());
        }
    }
}
