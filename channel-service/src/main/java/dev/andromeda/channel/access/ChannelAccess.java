package dev.andromeda.channel.access;

import dev.andromeda.api.model.LabelPatch;
import dev.andromeda.channel.store.ChannelStore;
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
public final class ChannelAccess {

    /** What a call needs of the caller when it presents no cap. */
    public enum Need { READ, WRITE, ADMINISTER }

    private static final int MAX_LABEL_CHARS = 4096;

    private ChannelAccess() {}

    /**
     * The labels a new channel gets: only the access labels are accepted (422 naming any other),
     * and the creator becomes the owner (an admin may name another; the mantle's own services
     * leave it open, as before owners existed).
     */
    public static Map<String, String> forNewChannel(Map<String, String> asked) {
        Map<String, String> labels = new LinkedHashMap<>();
        if (asked != null) {
            for (var e : asked.entrySet()) labels.put(e.getKey(), checked("labels.", e.getKey(), e.getValue()));
        }
        if (labels.containsKey(Access.OWNER) && labels.get(Access.OWNER).isEmpty()) labels.remove(Access.OWNER);
        return Access.ownedBy(Callers.current(), labels);
    }

    /**
     * The labels after {@code patch}, once the caller may change them ({@link #checkLabelChange}).
     * The owner can be handed over but not removed: a channel without one is the mantle's, open to
     * every authenticated caller, and an owner should not open it to everyone by accident.
     */
    public static Map<String, String> patched(ChannelStore.Row ch, LabelPatch patch) {
        Map<String, String> labels = new LinkedHashMap<>(ch.labels());
        Map<String, String> set = new LinkedHashMap<>();
        if (patch.getSet() != null) {
            for (var e : patch.getSet().entrySet()) set.put(e.getKey(), checked("set.", e.getKey(), e.getValue()));
        }
        String owner = set.get(Access.OWNER);
        if (owner != null && (owner.isEmpty() || owner.contains(",") || owner.equals(Access.EVERYONE))) {
            throw M31Problem.unprocessable("set.owner", "set.owner is one subject (the owner can be handed over, not removed)");
        }
        if (patch.getRemove() != null) {
            for (String r : patch.getRemove()) {
                if (r == null || !Access.PROTECTED_LABELS.contains(r)) {
                    throw M31Problem.unprocessable("remove", "a channel's labels are owner, readers and writers, not "
                            + (r == null ? "null" : abbreviate(r)));
                }
                if (set.containsKey(r)) throw M31Problem.unprocessable("remove", "label " + r + " is both set and removed");
                if (r.equals(Access.OWNER) && labels.containsKey(Access.OWNER)) {
                    throw M31Problem.unprocessable("remove", "the owner can be handed over (set.owner), not removed");
                }
                labels.remove(r);
            }
        }
        labels.putAll(set);
        return labels;
    }

    /**
     * Changing owner/readers/writers: the owner's or an admin's, never a cap's (a cap is authority
     * over one end, not over who else may use the channel). The mantle's services may, as they may
     * close it, except on a channel with capabilities. A channel without an owner is the mantle's:
     * only an admin (or the mantle) may give it one, not the first user who asks.
     */
    public static void checkLabelChange(ChannelStore.Row ch) {
        Caller c = Callers.current();
        Access a = Access.of(ch.labels());
        String what = "channel " + ch.id();
        if (c == null || c.isAdmin() || a.isOwner(c)) return;
        if (c.isAnonymous()) throw new M31Problem(401, "unauthorized", "a token is required to change the labels of " + what, null);
        if (c.isService() && !ch.capabilities()) return;
        throw new M31Problem(403, "forbidden", c.subject() + " may not change the owner or access lists of " + what
                + (a.owner() == null ? " (it is the mantle's: an admin may)" : " (only its owner or an admin may)"), null);
    }

    /** Allows a cap-less call or throws 401/403 problems (the caller is the request's verified one). */
    public static void check(ChannelStore.Row ch, String end, Need need) {
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
    public static String owner(ChannelStore.Row ch) {
        return Access.of(ch.labels()).owner();
    }

    /** One access label as asked for (422 naming {@code prefix + name}): its value, trimmed. */
    private static String checked(String prefix, String k, String v) {
        if (k == null || !Access.PROTECTED_LABELS.contains(k)) {
            throw M31Problem.unprocessable(prefix + abbreviate(String.valueOf(k)), "a channel's labels are owner, readers and writers");
        }
        if (v == null || v.length() > MAX_LABEL_CHARS || v.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw M31Problem.unprocessable(prefix + k, prefix + k + " is a string of subjects, at most " + MAX_LABEL_CHARS + " characters");
        }
        return v.trim();
    }

    private static String abbreviate(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }
}
