package io.tapline.journey.tls;

import java.util.Locale;

/**
 * What a peer may do on a replayer, named by the organizational unit (OU) of its certificate.
 */
public enum PeerRole {
    /** Ships a volume's records (HELLO, BATCH, CONTROL). */
    SOURCE,
    /** Everything a source may, and rollback, resume, promote, demote, configuration. */
    ADMINISTRATOR,
    /** Reads only (status, window, audit); no command that changes a replica. */
    AUDITOR,
    /** A certificate without a known role: allowed nothing. */
    NONE;

    /** The role an OU names ({@code source}, {@code administrator}, {@code auditor}), or {@link #NONE}. */
    public static PeerRole ofUnit(String unit) {
        if (unit == null) {
            return NONE;
        }
        return switch (unit.trim().toLowerCase(Locale.ROOT)) {
            case "source" -> SOURCE;
            case "administrator" -> ADMINISTRATOR;
            case "auditor" -> AUDITOR;
            default -> NONE;
        };
    }

    /** Whether this role may open a session that ships records. */
    public boolean mayShip() {
        return this == SOURCE || this == ADMINISTRATOR;
    }

    /** Whether this role may change a replica by an administrator's command. */
    public boolean mayAdminister() {
        return this == ADMINISTRATOR;
    }
}
