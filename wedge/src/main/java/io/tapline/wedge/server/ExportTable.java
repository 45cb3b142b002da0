package io.tapline.wedge.server;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The exports an {@link NbdEndpoint} serves, by name, and the one rule for what a client's
 * requested name means: an exact name, or the empty name for the default export, which exists
 * only while exactly one export is registered (with several, "" would be a guess).
 *
 * <p>Thread-safe: negotiation looks names up on event loops without locking; the endpoint
 * serialises changes.
 */
final class ExportTable {
    private final Map<String, Export> byName = new ConcurrentHashMap<>();

    /** The export a client asking for {@code requested} gets, or {@code null} when there is none. */
    Export lookup(String requested) {
        if (!requested.isEmpty()) {
            return byName.get(requested);
        }
        Iterator<Export> it = byName.values().iterator();
        Export only = it.hasNext() ? it.next() : null;
        return it.hasNext() ? null : only;
    }

    /** Every registered name, sorted (the NBD_OPT_LIST answer). */
    List<String> names() {
        List<String> names = new ArrayList<>(byName.keySet());
        Collections.sort(names);
        return names;
    }

    Export get(String name) {
        return byName.get(name);
    }

    /** @return the export this one replaced, or {@code null} */
    Export put(Export export) {
        return byName.put(export.name, export);
    }

    /** @return the removed export, or {@code null} */
    Export remove(String name) {
        return byName.remove(name);
    }

    /** Removes {@code export} if it is still the one registered under its name. */
    boolean remove(Export export) {
        return byName.remove(export.name, export);
    }

    List<Export> removeAll() {
        List<Export> all = new ArrayList<>(byName.values());
        byName.clear();
        return all;
    }
}
