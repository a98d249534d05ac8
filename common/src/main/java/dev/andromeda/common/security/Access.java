package dev.andromeda.common.security;

import dev.andromeda.common.problem.M31Problem;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who may do what to a space, an object or a channel, from its labels: {@value #OWNER} (one
 * subject), {@value #READERS} and {@value #WRITERS} (comma-separated subjects; {@value #EVERYONE}
 * means everyone, even without a token: world-readable). The owner reads, writes and changes
 * these labels; writers also read; the {@code admin} role and the mantle's own components
 * (role {@code service}, which act for users with {@code ServiceClient.as(caller)} when they do
 * user work) may do everything. A resource without an owner label is the mantle's: readable and
 * writable by every authenticated caller, as before labels existed.
 *
 * <p>A null caller means the service runs without {@code m31.internal.key} (a test or a
 * developer's process with no gateway in front): there is no identity to check, so it is allowed.
 */
public final class Access {

    public static final String OWNER = "owner";
    public static final String READERS = "readers";
    public static final String WRITERS = "writers";
    public static final String EVERYONE = "*";
    /** Label names only the owner (or an admin) may set or change. */
    public static final Set<String> PROTECTED_LABELS = Set.of(OWNER, READERS, WRITERS);

    private final String owner;
    private final Set<String> readers;
    private final Set<String> writers;

    private Access(String owner, Set<String> readers, Set<String> writers) {
        this.owner = owner;
        this.readers = readers;
        this.writers = writers;
    }

    /** Reads owner/readers/writers from a resource's labels (values are strings; other labels are ignored). */
    public static Access of(Map<String, ?> labels) {
        if (labels == null) labels = Map.of();
        Object o = labels.get(OWNER);
        return new Access(o == null || o.toString().isBlank() ? null : o.toString().trim(),
                list(labels.get(READERS)), list(labels.get(WRITERS)));
    }

    /**
     * The labels a new resource gets when {@code creator} makes it: a user becomes its owner
     * (whatever owner label was asked for); an admin or the mantle may name another owner.
     */
    public static Map<String, String> ownedBy(Caller creator, Map<String, String> labels) {
        Map<String, String> out = new LinkedHashMap<>(labels == null ? Map.of() : labels);
        if (creator == null || creator.isAnonymous()) return out;
        if (creator.isAdmin() || creator.isService()) {
            if (!creator.isService()) out.putIfAbsent(OWNER, creator.subject());
        } else {
            out.put(OWNER, creator.subject());
        }
        return out;
    }

    private static Set<String> list(Object v) {
        if (v == null) return Set.of();
        Collection<?> items = v instanceof Collection<?> c ? c : Arrays.asList(v.toString().split(","));
        return items.stream().map(Object::toString).map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
    }

    public String owner() { return owner; }
    public boolean worldReadable() { return readers.contains(EVERYONE); }

    private static boolean trusted(Caller c) { return c == null || c.isAdmin() || c.isService(); }

    public boolean isOwner(Caller c) {
        return c != null && owner != null && owner.equals(c.subject()) && !c.isAnonymous();
    }

    public boolean canRead(Caller c) {
        if (trusted(c) || worldReadable()) return true;
        if (c.isAnonymous()) return false;
        return owner == null || isOwner(c) || readers.contains(c.subject()) || writers.contains(c.subject());
    }

    public boolean canWrite(Caller c) {
        if (trusted(c)) return true;
        if (c.isAnonymous()) return false;
        return owner == null || isOwner(c) || writers.contains(c.subject()) || writers.contains(EVERYONE);
    }

    /** Changing owner/readers/writers, deleting: the owner's alone (and admins'). */
    public boolean canAdminister(Caller c) {
        if (trusted(c)) return true;
        if (c.isAnonymous()) return false;
        return owner == null ? true : isOwner(c);
    }

    public void requireRead(Caller c, String what) {
        if (!canRead(c)) throw denied(c, "read", what);
    }

    public void requireWrite(Caller c, String what) {
        if (!canWrite(c)) throw denied(c, "write", what);
    }

    public void requireAdminister(Caller c, String what) {
        if (!canAdminister(c)) throw denied(c, "change the owner or access lists of (or delete)", what);
    }

    /** A label patch that touches owner/readers/writers needs {@link #canAdminister}. */
    public void requireLabelChange(Caller c, Collection<String> changedLabels, String what) {
        boolean touchesAccess = changedLabels.stream().anyMatch(PROTECTED_LABELS::contains);
        if (touchesAccess) requireAdminister(c, what);
        else requireWrite(c, what);
    }

    /** Admin-only operations: packet capture, draining nodes, changing scheduler policy. */
    public static void requireAdmin(Caller c, String what) {
        if (c != null && !c.isAdmin()) {
            throw new M31Problem(403, "forbidden", what + " needs the admin role; " + c.subject() + " does not have it", null);
        }
    }

    private static M31Problem denied(Caller c, String verb, String what) {
        if (c != null && c.isAnonymous()) {
            return new M31Problem(401, "unauthorized", "a token is required to " + verb + " " + what, null);
        }
        return new M31Problem(403, "forbidden", (c == null ? "the caller" : c.subject()) + " may not " + verb + " " + what, null);
    }
}
