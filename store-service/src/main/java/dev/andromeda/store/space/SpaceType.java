package dev.andromeda.store.space;

import dev.andromeda.common.security.Access;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.OffsetDateTime;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import tools.jackson.core.type.TypeReference;

/**
 * The definition of a space: its key attribute, its typed attributes, labels and options, and
 * the table its objects live in. Every identifier or literal this class puts into SQL comes from
 * names validated against {@link #SPACE_NAME} / {@link #ATTR_NAME}, never from a request string.
 *
 * @param attrs    attribute name → type, in a stable (sorted) order, without the key attribute
 * @param indexed  attributes and {@code label.<name>}s with a btree index of their own, sorted
 * @param labels   the labels a new object starts with
 */
public record SpaceType(String name, String table, String keyAttr, Map<String, AttrType> attrs,
                 List<String> indexed, Map<String, String> labels, int partitions, int failures, boolean versioning,
                 OffsetDateTime created) {

    static final Pattern SPACE_NAME = Pattern.compile("^[a-z][a-z0-9_]{0,62}$");
    public static final Pattern ATTR_NAME = Pattern.compile("^[A-Za-z_][A-Za-z0-9_]{0,62}$");
    /** Query parameters with a meaning of their own can't also be attribute names. */
    static final Set<String> RESERVED = Set.of("fmt", "sort", "limit", "label", "cursor", "since", "until", "watch", "after", "meta");
    /** The label a hierarchy is emulated with; every space indexes it for prefix queries. */
    static final String PATH_LABEL = "path";

    static final int MAX_PARTITIONS = 64;   // the contract's bound
    static final int MAX_FAILURES = 10;
    static final int MAX_ATTRS = 100;

    /** What one PostgreSQL server (or a Citus cluster without replication) really tolerates. */
    static final int EFFECTIVE_FAILURES = 0;

    /**
     * The table of a space: {@code sp_<name>} when that fits PostgreSQL's 63-byte identifiers
     * with room for index/partition suffixes, else a prefix of the name and a hash of all of it.
     */
    static String tableFor(String spaceName) {
        if (!SPACE_NAME.matcher(spaceName).matches()) {
            throw new IllegalArgumentException("not a space name");
        }
        if (spaceName.length() <= 40) return "sp_" + spaceName;
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(spaceName.getBytes(StandardCharsets.UTF_8));
            return "sp_" + spaceName.substring(0, 23) + "_" + HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public boolean isKey(String attr) { return keyAttr.equals(attr); }

    public AttrType typeOf(String attr) { return attrs.get(attr); }

    /** 'name' as an SQL string literal; the name matched {@link #ATTR_NAME}, so it has no quote. */
    public static String lit(String attr) {
        if (!ATTR_NAME.matcher(attr).matches()) throw new IllegalArgumentException("not an attribute name");
        return "'" + attr + "'";
    }

    /**
     * The SQL expression of an attribute's value for comparisons and sorting. The expression
     * indexes are created on exactly these expressions, so the planner can use them. Text
     * compares in collation "C" (code point order), which also lets a btree serve prefixes.
     */
    public String valueExpr(String attr) {
        if (isKey(attr)) return "key";
        AttrType t = attrs.get(attr);
        if (t == null) throw new IllegalArgumentException("unknown attribute");
        String l = lit(attr);
        return switch (t.kind) {
            case Int, Float -> "((attrs->>" + l + ")::numeric)";
            case Str, Time -> "((attrs->>" + l + ") collate \"C\")";
            case Bool -> "((attrs->>" + l + ")::boolean)";
            default -> "(attrs->>" + l + ")";
        };
    }

    /** The predicate of the labels' GIN index, added to every filter that can use that index. */
    public static final String LABELS_PRESENT = "labels <> '{}'::jsonb";

    /** A label's value as text, the expression its prefix index is built on. */
    public static String labelExpr(String label) {
        return "((labels->>" + lit(label) + ") collate \"C\")";
    }

    /** The DDL of a new space, in order; all of it runs in one transaction. */
    List<String> ddl() {
        List<String> out = new java.util.ArrayList<>();
        String cols = "key text primary key, attrs jsonb not null default '{}', labels jsonb not null default '{}', "
                + "version bigint not null default 1, created timestamptz not null default now(), "
                + "modified timestamptz not null default now()";
        if (partitions > 1) {
            out.add("create table " + table + " (" + cols + ") partition by hash (key)");
            for (int i = 0; i < partitions; i++) {
                out.add("create table " + table + "_p" + i + " partition of " + table
                        + " for values with (modulus " + partitions + ", remainder " + i + ")");
            }
        } else {
            out.add("create table " + table + " (" + cols + ")");
        }
        out.add("create index " + table + "_ga on " + table + " using gin (attrs jsonb_path_ops)");
        // label indexes hold only the objects that have the label(s): most objects have none, and a
        // write of one (every increment of a counter) then costs these indexes nothing. The
        // predicates are ones every label filter implies (LABELS_PRESENT is added to containment
        // filters; a comparison of a label's text implies it is not null), so the planner keeps
        // using them — StreamAndIndexTest shows each in EXPLAIN.
        out.add("create index " + table + "_gl on " + table + " using gin (labels jsonb_path_ops) where " + LABELS_PRESENT);
        out.add("create index " + table + "_lp on " + table + " (" + labelExpr(PATH_LABEL) + ") where " + labelExpr(PATH_LABEL) + " is not null");
        out.add("create index " + table + "_m on " + table + " (modified)");
        int i = 0;
        for (String name : indexed) {
            if (name.equals("label." + PATH_LABEL)) continue;
            String expr = name.startsWith("label.") ? labelExpr(name.substring(6)) : valueExpr(name);
            String where = name.startsWith("label.") ? " where " + expr + " is not null" : "";
            out.add("create index " + table + "_i" + i++ + " on " + table + " (" + expr + ")" + where);
        }
        if (versioning) {
            out.add("create trigger " + table + "_v after insert or update or delete on " + table
                    + " for each row execute function keep_version(" + lit(name) + ")");
        }
        return out;
    }

    /** Types as the API shows them. */
    public Map<String, Object> attrNames() {
        Map<String, Object> m = new LinkedHashMap<>();
        attrs.forEach((k, v) -> m.put(k, v.describe()));
        return m;
    }

    /**
     * Same definition (what makes a repeated mkdir a no-op). Access labels are left out: the
     * creator's owner label is added by the store, and they change later by PATCH.
     */
    boolean sameDefinition(SpaceType o) {
        return keyAttr.equals(o.keyAttr) && attrs.equals(o.attrs) && indexed.equals(o.indexed)
                && objectDefaults().equals(o.objectDefaults())
                && partitions == o.partitions && failures == o.failures && versioning == o.versioning;
    }

    /** Who may read, write and administer the space: its owner/readers/writers labels. */
    public Access access() {
        return Access.of(labels);
    }

    /**
     * The labels a new object starts with: the space's, without its access labels (those say who
     * may use the space; copied into objects they would keep granting after the space's changed).
     */
    public Map<String, String> objectDefaults() {
        Map<String, String> m = new java.util.TreeMap<>(labels);
        m.keySet().removeAll(Access.PROTECTED_LABELS);
        return m;
    }

    public SpaceType withLabels(Map<String, String> l) {
        return new SpaceType(name, table, keyAttr, attrs, indexed, new java.util.TreeMap<>(l), partitions, failures, versioning, created);
    }

    /** A name or value as problem details quote it: at most 64 characters and an ellipsis. */
    public static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "…";
    }

    /** The stored forms of an object's attrs and labels, as JSON is read back into them. */
    public static final TypeReference<LinkedHashMap<String, Object>> OBJECT_MAP = new TypeReference<>() {};
    public static final TypeReference<LinkedHashMap<String, String>> STRING_MAP = new TypeReference<>() {};
}
