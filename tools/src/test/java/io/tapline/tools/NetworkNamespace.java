package io.tapline.tools;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A network namespace joined to this one by a veth pair (10.231.N.1 here, 10.231.N.2 inside), for
 * tests of a peer whose path disappears without a FIN or an RST: {@link #cut} takes this side of
 * the pair down, so the kernel drops every packet both ways, as a pulled cable or a host that lost
 * power would. Root only (as the tests run). Deleted, with its pair, on {@link #close}.
 */
final class NetworkNamespace implements AutoCloseable {
    private static final Duration IP = Duration.ofSeconds(20);
    private final String name;
    private final String outside;
    private final String inside;
    private final String subnet;

    NetworkNamespace() throws IOException, InterruptedException {
        int n = ThreadLocalRandom.current().nextInt(1, 250);
        this.name = "tl-it-" + n;
        this.outside = "tlo" + n;
        this.inside = "tli" + n;
        this.subnet = "10.231." + n;
        Peers.run(IP, "ip", "netns", "del", name); // a namespace an aborted run left behind, if any
        ip("netns", "add", name);
        ip("link", "add", outside, "type", "veth", "peer", "name", inside);
        ip("link", "set", inside, "netns", name);
        ip("addr", "add", subnet + ".1/30", "dev", outside);
        ip("link", "set", outside, "up");
        ip("-n", name, "addr", "add", subnet + ".2/30", "dev", inside);
        ip("-n", name, "link", "set", inside, "up");
        ip("-n", name, "link", "set", "lo", "up");
    }

    /** The address of this namespace's end, as the outside reaches it. */
    String insideAddress() {
        return subnet + ".2";
    }

    /** The command prefix that runs a program inside the namespace. */
    List<String> exec() {
        return new ArrayList<>(List.of("ip", "netns", "exec", name));
    }

    /** Every packet between the two ends is dropped from now on, without a word to either. */
    void cut() throws IOException, InterruptedException {
        ip("link", "set", outside, "down");
    }

    /** The path carries packets again. */
    void restore() throws IOException, InterruptedException {
        ip("link", "set", outside, "up");
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        Peers.ok(IP, cmd.toArray(String[]::new));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        Peers.run(IP, "ip", "link", "del", outside);
        Peers.run(IP, "ip", "netns", "del", name);
    }
}
