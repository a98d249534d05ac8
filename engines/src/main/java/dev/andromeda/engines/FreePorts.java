package dev.andromeda.engines;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for servers that must be named before they start (a constellation's services are told
 * each other's URLs; a broker's listeners are configured up front). A port found free by binding
 * port 0 comes from the kernel's ephemeral range, which is also where every outgoing connection
 * gets its local port: between the probe and the server's bind, a client of the starting
 * constellation (JDBC, Kafka, HTTP) took such a port and the server failed with "Address already
 * in use" ({@code ./m31 demo} did, once). So ports are picked below (or above) the ephemeral range
 * ({@code /proc/sys/net/ipv4/ip_local_port_range}), where no outgoing connection lands, probed,
 * and never handed out twice by this JVM.
 */
public final class FreePorts {

    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();
    /** Linux's default ephemeral range (macOS and Windows use 49152-65535, inside it too). */
    private static final int[] DEFAULT_EPHEMERAL = {32768, 60999};
    private static final int LOWEST = 10_000;

    private FreePorts() {}

    /** A port free now, outside the ephemeral range, not handed out before by this JVM. */
    public static int pick() throws IOException {
        int[] eph = ephemeralRange();
        int below = eph[0] - LOWEST, above = 65_535 - eph[1];
        if (below < 1_000 && above < 1_000) return anyFree(); // no room outside it: the kernel's choice
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 500; attempt++) {
            int n = rnd.nextInt(below + above);
            int port = n < below ? LOWEST + n : eph[1] + 1 + (n - below);
            if (HANDED_OUT.contains(port) || !free(port)) continue;
            if (HANDED_OUT.add(port)) return port;
        }
        return anyFree();
    }

    /** The kernel's ephemeral port range, low and high. */
    static int[] ephemeralRange() {
        try {
            String[] lh = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
            return new int[] {Integer.parseInt(lh[0]), Integer.parseInt(lh[1])};
        } catch (IOException | RuntimeException notLinux) {
            return DEFAULT_EPHEMERAL.clone();
        }
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(port)); // every address: a server binds it so, or loopback within it
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    private static int anyFree() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
