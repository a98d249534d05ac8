package dev.andromeda.fibril.modules;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Where {@code http.req} may not go: address ranges (CIDR) a fibril, an untrusted script, must not
 * reach from inside the cluster — by default the link-local ranges, where clouds serve instance
 * metadata and credentials ({@code 169.254.169.254}); an operator adds the cluster's own networks
 * ({@code m31.fibril.http-deny}, the Helm chart does). Every address a host resolves to is checked,
 * and every redirect hop again (a public page answering "302 to 169.254.169.254" is refused too).
 * What this does not stop: a name that resolves to an allowed address when checked and to a
 * denied one a moment later (DNS rebinding) — the JDK's HTTP client resolves again when it
 * connects; a network policy in the cluster is the complete answer to that.
 */
final class Egress {

    /** The request may not be made; the message says where it led and why not. */
    static final class Refused extends IllegalStateException {
        Refused(String message) { super(message); }
    }

    private record Range(String text, byte[] net, int bits) {
        boolean contains(InetAddress a) {
            byte[] b = a.getAddress();
            if (b.length != net.length) return false;
            int full = bits / 8, rest = bits % 8;
            for (int i = 0; i < full; i++) if (b[i] != net[i]) return false;
            return rest == 0 || ((b[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
        }
    }

    private final List<Range> deny = new ArrayList<>();

    /** @param cidrs ranges like {@code 169.254.0.0/16} or {@code fe80::/10} (a bare address is /32 or /128) */
    Egress(List<String> cidrs) {
        for (String c : cidrs) {
            String s = c.strip();
            if (s.isEmpty()) continue;
            int slash = s.indexOf('/');
            String addr = slash < 0 ? s : s.substring(0, slash);
            InetAddress net;
            try {
                // literal addresses only (getByName looks nothing up for those): a name here is a mistake
                if (!addr.matches("[0-9.]+") && !addr.contains(":")) throw new UnknownHostException(addr);
                net = InetAddress.getByName(addr);
            } catch (UnknownHostException | NumberFormatException e) {
                throw new IllegalArgumentException("m31.fibril.http-deny: '" + s + "' is not an address range (CIDR)");
            }
            int max = net.getAddress().length * 8;
            int bits;
            try {
                bits = slash < 0 ? max : Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                bits = -1;
            }
            if (bits < 0 || bits > max) throw new IllegalArgumentException("m31.fibril.http-deny: bad prefix length in '" + s + "'");
            deny.add(new Range(s, net.getAddress(), bits));
        }
    }

    /** Resolves {@code uri}'s host (blocking: call it off the carriers) and refuses a denied address. */
    void check(URI uri) {
        if (deny.isEmpty()) return;
        InetAddress[] all;
        try {
            all = InetAddress.getAllByName(uri.getHost());
        } catch (UnknownHostException e) {
            return; // the request fails on its own, with the client's message
        }
        for (InetAddress a : all) {
            for (Range r : deny) {
                if (r.contains(a)) {
                    throw new Refused("not to " + uri + ": " + uri.getHost() + " is " + a.getHostAddress()
                            + ", in " + r.text() + ", where fibrils may not go (m31.fibril.http-deny)");
                }
            }
        }
    }
}
