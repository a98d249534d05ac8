package dev.andromeda.channel;

import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Access;
import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.Callers;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Who may use a channel without presenting a capability. A capability ({@link Caps}) is authority
 * by itself — passing an endpoint to someone is how a channel is shared — so a valid cap of the
 * right end is always enough. Without one, the channel's labels decide ({@link Access}: owner,
 * readers, writers): sending needs write, receiving needs read, looking at it needs read, closing
 * it and cloning its endpoints need the owner. A channel created with {@code "capabilities": true}
 * asked for capability discipline: sending and receiving on it always take a cap, and without one
 * only its owner or an admin may look at it, close it or clone its endpoints (not even the mantle's
 * services, which otherwise may do everything). An anonymous public sender (the gateway resolved a
 * {@code /pub/{name}} the owner published) may send on the channel's own send endpoint.
 */
final class ChannelAccess {

    /** What a call needs of the caller when it presents no cap. */
    enum Need { READ, WRITE, ADMINISTER }

    private static final int MAX_LABEL_CHARS = 4096;

    private ChannelAccess() {}

    /**
     * The labels a new channel gets: only the access labels are accepted (422 naming any other),
     * and the creator becomes the owner (an admin may name another; the mantle's own services
     * leave it open, as before owners existed).
     */
    static Map<String, String> forNewChannel(Map<String, String> asked) {
        Map<String, String> labels = new LinkedHashMap<>();
        if (asked != null) {
            for (var e : asked.entrySet()) {
                String k = e.getKey();
                String v = e.getValue();
                if (!Access.PROTECTED_LABELS.contains(k)) {
                    throw M31Problem.unprocessable("labels." + abbreviate(k), "a channel's labels are owner, readers and writers");
                }
                if (v == null || v.length() > MAX_LABEL_CHARS || v.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                    throw M31Problem.unprocessable("labels." + k, "labels." + k + " is a string of subjects, at most " + MAX_LABEL_CHARS + " characters");
                }
                labels.put(k, v.trim());
            }
        }
        if (labels.containsKey(Access.OWNER) && labels.get(Access.OWNER).isEmpty()) labels.remove(Access.OWNER);
        return Access.ownedBy(Callers.current(), labels);
    }

    /** Allows a cap-less call or throws 401/403 problems (the caller is the request's verified one). */
    static void check(ChannelStore.Row ch, String end, Need need) {
        Caller c = Callers.current();
        if (need == Need.WRITE && "send".equals(end) && c != null && c.isPublicSender()) return;
        Access a = Access.of(ch.labels());
        String what = "channel " + ch.id();
        if (ch.capabilities()) {
            boolean manages = end == null || need == Need.ADMINISTER;
            if (manages && c != null && (c.isAdmin() || a.isOwner(c))) return;
            throw new M31Problem(403, "forbidden", what + " needs a " + (end == null ? "" : end + " ")
                    + "capability (header " + Caps.HEADER + " or ?cap=)", "cap");
        }
        switch (need) {
            case READ -> a.requireRead(c, what);
            case WRITE -> a.requireWrite(c, what);
            case ADMINISTER -> a.requireAdminister(c, what);
        }
    }

    /** The owner of a channel, for its view (null: the mantle's). */
    static String owner(ChannelStore.Row ch) {
        return Access.of(ch.labels()).owner();
    }

    private static String abbreviate(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }
}
