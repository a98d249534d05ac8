package dev.andromeda.store.query;

import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.store.space.AttrType;
import dev.andromeda.store.space.SpaceType;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.ResolverStyle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import tools.jackson.databind.json.JsonMapper;

/**
 * A query on a space as parameterized SQL. Every value is a bind parameter; every attribute
 * name in the SQL text comes from the space's type (the request's parameter name is only
 * looked up in it), so nothing of the request is ever concatenated into SQL.
 *
 * @param limit     rows to answer (the SQL fetches one more, to know whether a next page exists);
 *                  0 = no limit (streamed formats)
 * @param sortAttr  the attribute sorted on (the key attribute when none was asked)
 * @param filters   the canonical text of the filters and sort, which a cursor is bound to
 */
public record SpaceQuery(String sql, List<Object> args, int limit, String sortAttr, boolean desc, String filters) {

    static final int DEFAULT_LIMIT = 1000;
    static final int MAX_LIMIT = 100_000;
    static final int MAX_IN = 1000;
    static final Set<String> OPS = Set.of("eq", "ne", "lt", "le", "gt", "ge", "in", "prefix", "exists", "contains");
    private static final Set<String> CONTROL = Set.of("fmt", "sort", "limit", "cursor", "watch", "after", "meta");
    private static final DateTimeFormatter MMDDYYYY = DateTimeFormatter.ofPattern("MMdduuuu").withResolverStyle(ResolverStyle.STRICT);

    /** Parameters that are not filters. */
    static boolean control(String param) {
        return CONTROL.contains(param);
    }

    /** The columns every object query selects (the key attribute is shown inside attrs too). */
    public static String columns(SpaceType t) {
        return "key, (attrs || jsonb_build_object(" + SpaceType.lit(t.keyAttr()) + ", key))::text as attrs, "
                + "labels::text as labels, version, modified";
    }

    /** The JSON-array form: a page of at most {@code limit} objects (default 1000). */
    static SpaceQuery build(SpaceType t, Map<String, String[]> params, String sort, String limitText, JsonMapper json) {
        return build(t, params, sort, limitText, null, null, json, false);
    }

    public static SpaceQuery build(SpaceType t, Map<String, String[]> params, String sort, String limitText, String cursor,
                            Cursors cursors, JsonMapper json, boolean streamed) {
        List<String> where = new ArrayList<>();
        List<Object> args = new ArrayList<>();
        // canonical filters (sorted by parameter), what a cursor is bound to
        TreeMap<String, List<String>> canonical = new TreeMap<>();
        for (var e : params.entrySet()) {
            String p = e.getKey();
            if (control(p)) continue;
            for (String v : e.getValue()) {
                if (v == null) continue;
                filter(t, p, v, where, args, json);
                canonical.computeIfAbsent(p, k -> new ArrayList<>()).add(v);
            }
        }
        boolean desc = sort != null && sort.startsWith("-");
        String sortAttr = sort == null || sort.isEmpty() ? t.keyAttr() : desc || sort.startsWith("+") ? sort.substring(1) : sort;
        if (!t.isKey(sortAttr)) {
            AttrType st = t.typeOf(sortAttr);
            if (st == null) throw M31Problem.badRequest("sort", "no attribute '" + SpaceType.abbreviate(sortAttr) + "' in space " + t.name() + " " + known(t));
            if (!st.indexable()) throw M31Problem.badRequest("sort", sortAttr + " is a " + st + ", which has no order");
        }
        String filters = canonical + "|" + (desc ? "-" : "+") + sortAttr;
        if (cursor != null && !cursor.isEmpty()) {
            if (cursors == null) throw M31Problem.badRequest("cursor", "cursor is not accepted here");
            Cursors.Position pos = cursors.open(cursor, filters);
            after(t, sortAttr, desc, pos, where, args, json);
        }
        StringBuilder sql = new StringBuilder("select ").append(columns(t)).append(" from ").append(t.table());
        if (!where.isEmpty()) sql.append(" where ").append(String.join(" and ", where));
        sql.append(" order by ").append(order(t, sortAttr, desc));
        int limit = streamed && (limitText == null || limitText.isEmpty()) ? 0 : limit(limitText);
        if (limit > 0) {
            sql.append(" limit ?");
            args.add(streamed ? limit : limit + 1);
        }
        return new SpaceQuery(sql.toString(), args, limit, sortAttr, desc, filters);
    }

    static int limit(String text) {
        if (text == null || text.isEmpty()) return DEFAULT_LIMIT;
        try {
            int n = Integer.parseInt(text.trim());
            if (n >= 1 && n <= MAX_LIMIT) return n;
        } catch (NumberFormatException ignored) {
            // fall through
        }
        throw M31Problem.badRequest("limit", "limit is an integer 1.." + MAX_LIMIT);
    }

    private static String order(SpaceType t, String attr, boolean desc) {
        if (t.isKey(attr)) return desc ? "key desc" : "key";
        return t.valueExpr(attr) + (desc ? " desc nulls last" : " asc nulls last") + ", key";
    }

    /** Keyset pagination: the rows after the cursor's (value, key) in the query's order. */
    private static void after(SpaceType t, String attr, boolean desc, Cursors.Position pos, List<String> where,
                              List<Object> args, JsonMapper json) {
        if (t.isKey(attr)) {
            where.add(desc ? "key < ?" : "key > ?");
            args.add(pos.key());
            return;
        }
        String e = t.valueExpr(attr);
        if (pos.value() == null) {
            where.add("(" + e + " is null and key > ?)");
            args.add(pos.key());
            return;
        }
        Object v = sqlValue(t.typeOf(attr), t.typeOf(attr).fromText(pos.value(), json));
        if (v == null) throw M31Problem.badRequest("cursor", "the cursor does not fit this query");
        where.add("(" + e + (desc ? " < ?" : " > ?") + " or (" + e + " = ? and key > ?) or " + e + " is null)");
        args.add(v);
        args.add(v);
        args.add(pos.key());
    }

    /** The sort value of a row, as the cursor keeps it (text; null when the row has none). */
    public static String sortValue(SpaceType t, String sortAttr, dev.andromeda.api.model.StoredObject o) {
        if (t.isKey(sortAttr)) return o.getKey();
        Object v = o.getAttrs() == null ? null : o.getAttrs().get(sortAttr);
        return v == null ? null : String.valueOf(v);
    }

    private static Object sqlValue(AttrType type, Object v) {
        if (v == null) return null;
        if (type.numeric()) return v instanceof Long l ? BigDecimal.valueOf(l) : v;
        return v;
    }

    private static void filter(SpaceType t, String param, String value, List<String> where, List<Object> args,
                               JsonMapper json) {
        if (value.indexOf('\0') >= 0) throw M31Problem.badRequest(SpaceType.abbreviate(param), "a value has no NUL character");
        if (param.equals("since") || param.equals("until")) {
            where.add(param.equals("since") ? "modified >= ?" : "modified < ?");
            args.add(when(param, value));
            return;
        }
        if (param.startsWith("label.")) {
            labelFilter(param, value, where, args, json);
            return;
        }
        String attr = param;
        String op = "eq";
        int dot = param.indexOf('.');
        if (dot > 0) {
            attr = param.substring(0, dot);
            op = param.substring(dot + 1);
        }
        AttrType outer = t.isKey(attr) ? null : t.typeOf(attr);
        if (outer != null && outer.kind == AttrType.Kind.Obj && dot > 0) {
            nestedFilter(t, param, attr, outer, op, value, where, args, json);
            return;
        }
        if (!OPS.contains(op)) throw M31Problem.badRequest(SpaceType.abbreviate(param), "unknown operator '" + SpaceType.abbreviate(op) + "'; use " + String.join(", ", OPS.stream().sorted().toList()));
        if (t.isKey(attr)) {
            keyFilter(param, op, value, where, args, json);
            return;
        }
        AttrType type = t.typeOf(attr);
        if (type == null) {
            throw M31Problem.badRequest(SpaceType.abbreviate(param), "no attribute '" + SpaceType.abbreviate(attr) + "' in space " + t.name() + " " + known(t));
        }
        String lit = SpaceType.lit(attr);
        boolean scalar = type.kind != AttrType.Kind.List && type.kind != AttrType.Kind.Obj
                && type.kind != AttrType.Kind.Any && type.kind != AttrType.Kind.Schema;
        switch (op) {
            case "exists" -> where.add("(attrs->" + lit + ") is " + (bool(param, value) ? "not null" : "null"));
            case "eq", "ne" -> {
                Object v = parse(type, param, value, json);
                // scalars: containment, answered by the GIN (jsonb_path_ops) index on attrs; for
                // lists and objects containment is not equality ([1,2] contains [1])
                String eq = scalar ? "attrs @> ?::jsonb" : "(attrs->" + lit + ") = ?::jsonb";
                args.add(scalar ? json.writeValueAsString(Map.of(attr, v)) : json.writeValueAsString(v));
                where.add(op.equals("eq") ? eq : "(attrs->" + lit + ") is not null and not (" + eq + ")");
            }
            case "in" -> {
                List<String> vs = list(param, value, json);
                List<String> ors = new ArrayList<>();
                for (String s : vs) {
                    Object v = parse(type, param, s, json);
                    ors.add(scalar ? "attrs @> ?::jsonb" : "(attrs->" + lit + ") = ?::jsonb");
                    args.add(scalar ? json.writeValueAsString(Map.of(attr, v)) : json.writeValueAsString(v));
                }
                where.add(ors.isEmpty() ? "false" : "(" + String.join(" or ", ors) + ")");
            }
            case "contains" -> {
                if (!type.isList()) throw M31Problem.badRequest(SpaceType.abbreviate(param), attr + " is a " + type + "; contains applies to lists");
                Object v = parse(type.elem, param, value, json);
                where.add("attrs @> ?::jsonb");
                args.add(json.writeValueAsString(Map.of(attr, List.of(v))));
            }
            case "prefix" -> {
                if (type.kind != AttrType.Kind.Str) throw M31Problem.badRequest(SpaceType.abbreviate(param), attr + " is a " + type + "; prefix applies to Str");
                prefix(t.valueExpr(attr), null, value, where, args);
            }
            default -> {
                if (!type.ordered()) throw M31Problem.badRequest(SpaceType.abbreviate(param), type + " values have no order; use eq, ne, in or exists");
                where.add(t.valueExpr(attr) + " " + cmp(op) + " ?");
                args.add(sqlValue(type, parse(type, param, value, json)));
            }
        }
    }

    /**
     * A filter on a field of an Obj attribute, any depth: {@code who.name=Ada},
     * {@code who.born.lt=1900-01-01}, {@code who.langs.contains=en}. The segments after the
     * attribute are fields while the type has them, then at most one operator (a field named like
     * an operator wins; add {@code .eq} to compare it). The path is a bound text[] parameter;
     * equality and contains are containment of the nested document, which the GIN index on attrs
     * answers.
     */
    private static void nestedFilter(SpaceType t, String param, String attr, AttrType outer, String rest, String value,
                                     List<String> where, List<Object> args, JsonMapper json) {
        List<String> path = new ArrayList<>(List.of(attr));
        AttrType type = outer;
        String[] segs = rest.split("\\.", -1);
        int i = 0;
        while (i < segs.length && type.field(segs[i]) != null) {
            type = type.field(segs[i]);
            path.add(segs[i]);
            i++;
        }
        String op = i == segs.length ? "eq" : segs[i];
        String name = SpaceType.abbreviate(param);
        if (i < segs.length - 1 || !OPS.contains(op)) {
            String where0 = String.join(".", path);
            throw M31Problem.badRequest(name, "'" + SpaceType.abbreviate(segs[i]) + "' is neither a field of " + where0
                    + (type.kind == AttrType.Kind.Obj ? " (its fields: " + String.join(", ", type.fieldNames()) + ")" : " (a " + type + ")")
                    + " nor an operator (" + String.join(", ", OPS.stream().sorted().toList()) + ")");
        }
        if (path.size() == 1) {
            // the Obj itself: eq/ne/in/exists compare the whole object
            if (!Set.of("eq", "ne", "in", "exists").contains(op)) {
                throw M31Problem.badRequest(name, attr + " is an Obj; use eq, ne, in or exists, or name a field (" + String.join(", ", type.fieldNames()) + ")");
            }
        }
        String[] at = path.toArray(new String[0]);
        String node = "(attrs #> ?::text[])";
        boolean scalar = type.kind != AttrType.Kind.List && type.kind != AttrType.Kind.Obj
                && type.kind != AttrType.Kind.Any && type.kind != AttrType.Kind.Schema;
        switch (op) {
            case "exists" -> {
                where.add(node + " is " + (bool(param, value) ? "not null" : "null"));
                args.add(at);
            }
            case "eq", "ne", "in" -> {
                List<String> vs = op.equals("in") ? list(param, value, json) : List.of(value);
                List<String> ors = new ArrayList<>();
                List<Object> orArgs = new ArrayList<>();
                for (String s : vs) {
                    Object v = parse(type, param, s, json);
                    if (scalar) {
                        ors.add("attrs @> ?::jsonb");
                        orArgs.add(json.writeValueAsString(nest(path, v)));
                    } else {
                        ors.add(node + " = ?::jsonb");
                        orArgs.add(at);
                        orArgs.add(json.writeValueAsString(v));
                    }
                }
                String any = ors.isEmpty() ? "false" : "(" + String.join(" or ", ors) + ")";
                if (op.equals("ne")) {
                    where.add(node + " is not null and not " + any);
                    args.add(at);
                } else {
                    where.add(any);
                }
                args.addAll(orArgs);
            }
            case "contains" -> {
                if (!type.isList()) throw M31Problem.badRequest(name, String.join(".", path) + " is a " + type + "; contains applies to lists");
                where.add("attrs @> ?::jsonb");
                args.add(json.writeValueAsString(nest(path, List.of(parse(type.elem, param, value, json)))));
            }
            case "prefix" -> {
                if (type.kind != AttrType.Kind.Str) throw M31Problem.badRequest(name, String.join(".", path) + " is a " + type + "; prefix applies to Str");
                where.add("starts_with(attrs #>> ?::text[], ?)");
                args.add(at);
                args.add(value);
            }
            default -> {
                if (!type.ordered()) throw M31Problem.badRequest(name, type + " values have no order; use eq, ne, in or exists");
                String text = "(attrs #>> ?::text[])";
                String expr = switch (type.kind) {
                    case Int, Float -> "(" + text + "::numeric)";
                    default -> "(" + text + " collate \"C\")";
                };
                where.add(expr + " " + cmp(op) + " ?");
                args.add(at);
                args.add(sqlValue(type, parse(type, param, value, json)));
            }
        }
    }

    /** {a: {b: {c: v}}} for the path [a, b, c]: the document whose containment is equality at that path. */
    private static Object nest(List<String> path, Object v) {
        Object doc = v;
        for (int i = path.size() - 1; i >= 0; i--) doc = Map.of(path.get(i), doc);
        return doc;
    }

    private static void keyFilter(String param, String op, String value, List<String> where, List<Object> args, JsonMapper json) {
        switch (op) {
            case "exists" -> where.add(bool(param, value) ? "true" : "false");
            case "in" -> {
                where.add("key = any(?::text[])");
                args.add(list(param, value, json).toArray(new String[0]));
            }
            case "prefix" -> {
                // the key's index is in the database's collation: starts_with is exact in any collation
                where.add("starts_with(key, ?)");
                args.add(value);
            }
            case "contains" -> throw M31Problem.badRequest(SpaceType.abbreviate(param), "the key is a Str; contains applies to lists");
            default -> {
                where.add("key " + cmp(op) + " ?");
                args.add(value);
            }
        }
    }

    private static void labelFilter(String param, String value, List<String> where, List<Object> args, JsonMapper json) {
        String rest = param.substring("label.".length());
        String op = "eq";
        int dot = rest.lastIndexOf('.');
        if (dot > 0 && OPS.contains(rest.substring(dot + 1))) {
            op = rest.substring(dot + 1);
            rest = rest.substring(0, dot);
        }
        String label = rest;
        if (label.isEmpty()) throw M31Problem.badRequest(SpaceType.abbreviate(param), "a label filter is label.<name>[.op]=<value>");
        // a label name fit for SQL text is written as a literal, so the expression matches its index
        boolean plain = SpaceType.ATTR_NAME.matcher(label).matches();
        String text = plain ? SpaceType.labelExpr(label) : "((labels->>?) collate \"C\")";
        switch (op) {
            case "eq", "ne" -> {
                String eq = "labels @> ?::jsonb";
                if (op.equals("ne")) {
                    where.add("(labels->?) is not null and not (" + eq + ")");
                    args.add(label);
                } else {
                    where.add(eq + " and " + SpaceType.LABELS_PRESENT); // what the GIN index's predicate asks
                }
                args.add(json.writeValueAsString(Map.of(label, value)));
            }
            case "in" -> {
                List<String> ors = new ArrayList<>();
                for (String s : list(param, value, json)) {
                    ors.add("labels @> ?::jsonb");
                    args.add(json.writeValueAsString(Map.of(label, s)));
                }
                where.add(ors.isEmpty() ? "false" : "(" + String.join(" or ", ors) + ") and " + SpaceType.LABELS_PRESENT);
            }
            case "exists" -> {
                where.add("(labels->?) is " + (bool(param, value) ? "not null" : "null"));
                args.add(label);
            }
            case "prefix" -> prefix(text, plain ? null : label, value, where, args);
            case "lt", "le", "gt", "ge" -> {
                if (!plain) args.add(label);
                where.add(text + " " + cmp(op) + " ?");
                args.add(value);
            }
            default -> throw M31Problem.badRequest(SpaceType.abbreviate(param), "labels take eq, ne, in, exists, prefix, lt, le, gt, ge");
        }
    }

    /**
     * Strings starting with p are exactly those in [p, p with its last code point raised by
     * one) in code point order (collation "C"): a range a btree answers even in a generic plan,
     * where {@code like 'p%'} with a bind parameter would not use the index.
     */
    private static void prefix(String expr, String name, String p, List<String> where, List<Object> args) {
        if (p.isEmpty()) {
            where.add(expr + " is not null");
            if (name != null) args.add(name);
            return;
        }
        String upper = successor(p);
        where.add(expr + " >= ?" + (upper == null ? "" : " and " + expr + " < ?"));
        if (name != null) args.add(name); // a label expression that is not a literal binds its name per use
        args.add(p);
        if (upper != null) {
            if (name != null) args.add(name);
            args.add(upper);
        }
    }

    static String successor(String p) {
        int[] cps = p.codePoints().toArray();
        for (int i = cps.length - 1; i >= 0; i--) {
            int next = cps[i] + 1;
            if (next >= 0xD800 && next <= 0xDFFF) next = 0xE000; // surrogates are not code points of text
            if (next <= Character.MAX_CODE_POINT) {
                cps[i] = next;
                return new String(cps, 0, i + 1);
            }
        }
        return null; // every code point is the highest: no upper bound
    }

    private static String cmp(String op) {
        return switch (op) {
            case "eq" -> "=";
            case "ne" -> "<>";
            case "lt" -> "<";
            case "le" -> "<=";
            case "gt" -> ">";
            default -> ">=";
        };
    }

    private static Object parse(AttrType type, String param, String value, JsonMapper json) {
        if (type.kind == AttrType.Kind.Time) {
            // a Time compares as since/until read it: RFC 3339, a date, MMDDYYYY or epoch seconds
            value = DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(when(SpaceType.abbreviate(param), value));
        }
        Object v = type.fromText(value, json);
        if (v == null) throw M31Problem.badRequest(SpaceType.abbreviate(param), "'" + SpaceType.abbreviate(value) + "' is not " + ("AEIOU".indexOf(type.toString().charAt(0)) >= 0 ? "an " : "a ") + type);
        return v;
    }

    private static boolean bool(String param, String value) {
        return switch (value) {
            case "true", "" -> true;
            case "false" -> false;
            default -> throw M31Problem.badRequest(SpaceType.abbreviate(param), "exists is true or false");
        };
    }

    /** in: a JSON array of strings, or values separated by commas. */
    @SuppressWarnings("unchecked")
    private static List<String> list(String param, String value, JsonMapper json) {
        List<String> out = new ArrayList<>();
        if (value.startsWith("[")) {
            List<Object> parsed;
            try {
                parsed = json.readValue(value, List.class);
            } catch (RuntimeException e) {
                throw M31Problem.badRequest(SpaceType.abbreviate(param), "in takes v1,v2,… or a JSON array");
            }
            for (Object o : parsed) out.add(o instanceof String s ? s : json.writeValueAsString(o));
        } else {
            for (String s : value.split(",", -1)) out.add(s);
        }
        if (out.size() > MAX_IN) throw M31Problem.badRequest(SpaceType.abbreviate(param), "in takes at most " + MAX_IN + " values");
        return out;
    }

    /**
     * A point in time from a query: RFC 3339, a date (UTC midnight), the paper's MMDDYYYY
     * (exactly 8 digits) or epoch seconds (any other run of digits).
     */
    public static OffsetDateTime when(String field, String s) {
        String v = s.trim();
        try {
            if (v.matches("\\d{8}")) return LocalDate.parse(v, MMDDYYYY).atStartOfDay().atOffset(ZoneOffset.UTC);
            if (v.matches("-?\\d{1,12}")) return Instant.ofEpochSecond(Long.parseLong(v)).atOffset(ZoneOffset.UTC);
            if (v.matches("\\d{4}-\\d{2}-\\d{2}")) return LocalDate.parse(v).atStartOfDay().atOffset(ZoneOffset.UTC);
            return OffsetDateTime.parse(v, DateTimeFormatter.ISO_OFFSET_DATE_TIME);
        } catch (java.time.DateTimeException | NumberFormatException | ArithmeticException e) {
            throw M31Problem.badRequest(field, field + " is RFC 3339, yyyy-MM-dd, MMDDYYYY or epoch seconds; got '" + SpaceType.abbreviate(s) + "'");
        }
    }

    private static String known(SpaceType t) {
        List<String> names = new ArrayList<>();
        names.add(t.keyAttr());
        names.addAll(t.attrs().keySet());
        return "(attributes: " + String.join(", ", names) + ")";
    }

}
