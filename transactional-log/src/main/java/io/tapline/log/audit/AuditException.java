package io.tapline.log.audit;

import java.io.IOException;

/** An audit log is damaged or tampered with. */
public final class AuditException extends IOException {
    private static final long serialVersionUID = 1L;

    public AuditException(String message) {
        super(message);
    }
}
