package dev.andromeda.store;

import dev.andromeda.common.problem.M31Problem;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * A query on a space as parameterized SQL. Every value is a bind parameter; every attribute
 * name in the SQL text comes from the space's type (the request's parameter name is only
 * looked up in it), so nothing of the request is ever concatenated into SQL.
 */
record SpaceQuery(String sql, List<Object> args) {

    static final int DEFAULT_LIMIT = 1000;
    static final int MAX_LIMIT = 100_000;

    /** Parameters that are not filters. */
    static boolean control(String param) {
        return param.equals("fmt") || param.equals("sort") || param.equals("limit");
    }

    /** The columns every object query selects (the key attribute is shown inside attrs too). */
    static String columns(SpaceType t) {
        return "key, (attrs || jsonb_build_object(" + SpaceType.lit(t.keyAttr()) + ", key))::text as attrs, "
                + "labels::text as labels, version, modified";
    }

    static SpaceQuery build(SpaceType t, Map<String, String[]> params, String sort, String limitText, JsonMapper json) {
        List<String> where = new ArrayList<>();
        List<Object> args = new ArrayList<>();
        for (var e : params.entrySet()) {
            String p = e.getKey();
            if (control(p)) continue;
            for (String v : e.getValue()) {
                filter(t, p, v, where, args, json);
            }
        }
        StringBuilder sql = new StringBuilder("select ").append(columns(t)).append(" from ").append(t.table());
        if (!where.isEmpty()) sql.append(" where ").append(String.join(" and ", where));
        sql.append(" order by ").append(order(t, sort));
        sql.append(" limit ?");
        args.add(limit(limitText));
        return new SpaceQuery(sql.toString(), args);
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

    private static String order(SpaceType t, String sort) {
        if (sort == null || sort.isEmpty()) return "key";
        boolean desc = sort.startsWith("-");
        String attr = desc || sort.startsWith("+") ? sort.substring(1) : sort;
        if (t.isKey(attr)) return desc ? "key desc" : "key";
        if (t.typeOf(attr) == null) {
            throw M31Problem.badRequest("sort", "no attribute '" + attr + "' in space " + t.name() + " " + known(t));
        }
        return t.valueExpr(attr) + (desc ? " desc nulls last" : " asc nulls last") + ", key";
    }

    private static void filter(SpaceType t, String param, String value, List<String> where, List<Object> args,
                               JsonMapper json) {
        if (param.startsWith("label.")) {
            String label = param.substring("label.".length());
            if (label.isEmpty() || label.indexOf('\0') >= 0 || value.indexOf('\0') >= 0) {
                throw M31Problem.badRequest(param, "a label filter is label.<name>=<value>");
            }
            where.add("labels @> ?::jsonb");
            args.add(json.writeValueAsString(Map.of(label, value)));
            return;
        }
        String attr = param;
        String op = "eq";
        int dot = param.lastIndexOf('.');
        if (dot > 0) {
            attr = param.substring(0, dot);
            op = param.substring(dot + 1);
        }
        String cmp = switch (op) {
            case "eq" -> "=";
            case "ne" -> "<>";
            case "lt" -> "<";
            case "le" -> "<=";
            case "gt" -> ">";
            case "ge" -> ">=";
            default -> throw M31Problem.badRequest(param, "unknown operator '" + op + "'; use eq, ne, lt, le, gt, ge");
        };
        if (t.isKey(attr)) {
            if (value.indexOf('\0') >= 0) throw M31Problem.badRequest(param, "a key has no NUL character");
            where.add("key " + cmp + " ?");
            args.add(value);
            return;
        }
        AttrType type = t.typeOf(attr);
        if (type == null) {
            throw M31Problem.badRequest(param, "no attribute '" + attr + "' in space " + t.name() + " " + known(t));
        }
        Object v = type.fromText(value, json);
        if (v == null) {
            throw M31Problem.badRequest(param, "'" + abbreviate(value) + "' is not a " + type);
        }
        String lit = SpaceType.lit(attr);
        switch (op) {
            case "eq" -> {
                // containment is answered by the GIN (jsonb_path_ops) index on attrs
                where.add("attrs @> ?::jsonb");
                args.add(json.writeValueAsString(Map.of(attr, v)));
            }
            case "ne" -> {
                where.add("(attrs ->" + lit + ") is not null and not (attrs @> ?::jsonb)");
                args.add(json.writeValueAsString(Map.of(attr, v)));
            }
            default -> {
                if (!type.ordered()) throw M31Problem.badRequest(param, type + " values have no order; use eq or ne");
                where.add(t.valueExpr(attr) + " " + cmp + " ?");
                args.add(type.numeric() ? (v instanceof Long l ? BigDecimal.valueOf(l) : v) : v);
            }
        }
    }

    private static String known(SpaceType t) {
        List<String> names = new ArrayList<>();
        names.add(t.keyAttr());
        names.addAll(t.attrs().keySet());
        return "(attributes: " + String.join(", ", names) + ")";
    }

    static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "…";
    }
}
