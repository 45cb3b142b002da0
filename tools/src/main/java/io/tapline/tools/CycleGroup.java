package io.tapline.tools;

import io.tapline.log.cycles.FrozenImage;
import io.tapline.log.cycles.LayeredVolume;
import io.tapline.wedge.server.WedgeServer;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Volumes in cycle mode that freeze at one instant (a database's data and log volumes): a freeze
 * asked for by any member quiesces every member's sequencer at once (nested quiescent points: no
 * member has a write in flight, and none takes a new one) and freezes them all there. A group
 * cycle never starts before every member copied the previous one. Each member's engine then
 * copies its own frozen image.
 *
 * <p>Thread-safe.
 */
final class CycleGroup {
    private final String name;
    private final List<Member> members = new ArrayList<>();

    private record Member(WedgeServer wedge, LayeredVolume volume) {
    }

    CycleGroup(String name) {
        this.name = name;
    }

    String name() {
        return name;
    }

    synchronized void add(WedgeServer wedge, LayeredVolume volume) {
        members.add(new Member(wedge, volume));
    }

    /**
     * The caller's frozen image: the one pending, or, once no member has one pending any more,
     * a new one frozen with every member at one instant.
     */
    synchronized FrozenImage freeze(LayeredVolume caller) throws IOException, InterruptedException {
        while (true) {
            FrozenImage own = caller.frozen();
            if (own != null) {
                return own; // frozen by a group freeze another member asked for
            }
            if (members.stream().allMatch(m -> m.volume().frozen() == null)) {
                break;
            }
            wait(100); // another member still copies the last group cycle; copied() notifies
        }
        freezeFrom(0);
        return caller.frozen();
    }

    /** A member merged its copied cycle. */
    synchronized void copied() {
        notifyAll();
    }

    private void freezeFrom(int i) throws IOException, InterruptedException {
        if (i == members.size()) {
            long at = System.currentTimeMillis(); // the group's one instant, in every member's cycle record
            for (Member m : members) {
                m.volume().freeze(at);
            }
            return;
        }
        members.get(i).wedge().atQuiescentPoint(() -> {
            try {
                freezeFrom(i + 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("group " + name + " freeze interrupted");
            }
            return null;
        });
    }
}
