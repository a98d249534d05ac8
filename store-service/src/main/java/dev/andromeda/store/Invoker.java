package dev.andromeda.store;

import dev.andromeda.api.model.InvokeBatch;
import dev.andromeda.api.model.InvokeResult;
import dev.andromeda.api.model.Invocation;
import dev.andromeda.api.model.Op;
import dev.andromeda.common.problem.M31Problem;
import java.io.InputStream;
import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.PessimisticLockingFailureException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.json.JsonMapper;

/**
 * Batches of server-side atomic operations on a space (incr, decr, set), applied idempotently:
 * the batch id is recorded in the same transaction that applies the batch, so a retry changes
 * nothing. The batch is validated whole before anything is applied, repeated (key, attribute)
 * operations are combined in memory, and then keys that received the same kinds of operations
 * are applied together: one {@code INSERT … SELECT … FROM unnest(arrays) ON CONFLICT DO UPDATE}
 * per group and per {@value #CHUNK} keys. Every key is touched by one statement, once, so its
 * version rises by one per batch.
 */
@Service
class Invoker {

    private static final Logger log = LoggerFactory.getLogger(Invoker.class);

    static final int CHUNK = 10_000;
    private static final int ATTEMPTS = 5;

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final JsonMapper json;

    Invoker(JdbcTemplate jdbc, TransactionTemplate tx, JsonMapper json) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.json = json;
    }

    /** What a batch does to one attribute of one key, after combining. */
    private static final class Acc {
        static final byte REL_INT = 1, REL_FLOAT = 2, ABS = 3;
        byte kind;
        long l;          // REL_INT delta
        BigDecimal d;    // REL_FLOAT delta
        Object v;        // ABS value, in the attribute's stored form
    }

    /** Checks operations one by one against the space's type and combines them per (key, attribute). */
    static final class Combiner {
        final SpaceType type;
        final List<String> attrNames;
        private final Map<String, Integer> ordinal = new HashMap<>();
        private final AttrType[] types;
        final Map<String, Acc[]> byKey = new HashMap<>();
        int invocations;

        Combiner(SpaceType type) {
            this.type = type;
            this.attrNames = new ArrayList<>(type.attrs().keySet());
            for (int i = 0; i < attrNames.size(); i++) ordinal.put(attrNames.get(i), i);
            this.types = attrNames.stream().map(type.attrs()::get).toArray(AttrType[]::new);
        }

        static String where(int i) { return "invocations[" + i + "]"; }

        static void checkKey(int i, String key) {
            if (key == null || key.isEmpty() || key.length() > 1024 || key.indexOf('\0') >= 0) {
                throw M31Problem.unprocessable(where(i) + ".key", "a key is 1-1024 characters, without NUL");
            }
        }

        /** One operation of invocation {@code i}: {@code op} is incr, decr or set. */
        void add(int i, String key, String attr, String op, Object n) {
            String field = where(i) + ".ops." + SpaceQuery.abbreviate(attr);
            Integer ord = ordinal.get(attr);
            if (ord == null) {
                if (type.isKey(attr)) throw M31Problem.unprocessable(field, "the key attribute cannot be changed by an invocation");
                throw M31Problem.unprocessable(field, "no attribute '" + SpaceQuery.abbreviate(attr) + "' in space " + type.name());
            }
            if (op == null) throw M31Problem.unprocessable(field, "an operation is {op: incr|decr|set, n}");
            Acc[] accs = byKey.get(key);
            if (accs == null) {
                accs = new Acc[types.length];
                byKey.put(key, accs);
            }
            Acc acc = accs[ord];
            boolean fresh = acc == null;
            if (fresh) acc = new Acc();
            combine(acc, op, types[ord], field, n);
            if (fresh) accs[ord] = acc;
        }

        private static void combine(Acc acc, String op, AttrType type, String field, Object n) {
            switch (op) {
                case "incr", "decr" -> {
                    boolean neg = op.equals("decr");
                    if (type == AttrType.Int) {
                        Long d = n == null ? Long.valueOf(1) : AttrType.toLong(n);
                        if (d == null) throw M31Problem.unprocessable(field, "incr/decr of an Int takes an integral n, got " + n);
                        long delta = neg ? negate(d, field) : d;
                        if (acc.kind == Acc.ABS) acc.v = sum((Long) acc.v, delta, field);
                        else {
                            acc.kind = Acc.REL_INT;
                            acc.l = sum(acc.l, delta, field);
                        }
                    } else if (type == AttrType.Float) {
                        BigDecimal d = n == null ? BigDecimal.ONE : n instanceof Number num ? AttrType.toDecimal(num) : null;
                        if (d == null) throw M31Problem.unprocessable(field, "incr/decr of a Float takes a number n, got " + n);
                        if (neg) d = d.negate();
                        if (acc.kind == Acc.ABS) acc.v = ((BigDecimal) acc.v).add(d);
                        else {
                            acc.kind = Acc.REL_FLOAT;
                            acc.d = acc.d == null ? d : acc.d.add(d);
                        }
                    } else {
                        throw M31Problem.unprocessable(field, "incr/decr apply to Int and Float attributes, this one is " + type);
                    }
                }
                case "set" -> {
                    Object v = type.coerce(n);
                    if (v == null) throw M31Problem.unprocessable(field, "set needs a " + type + " value n, got " + n);
                    acc.kind = Acc.ABS;
                    acc.v = v;
                    acc.d = null;
                    acc.l = 0;
                }
                default -> throw M31Problem.unprocessable(field, "unknown operation '" + SpaceQuery.abbreviate(op) + "'; use incr, decr or set");
            }
        }
    }

    /** A batch already bound to the generated model. */
    InvokeResult apply(SpaceType t, InvokeBatch batch) {
        Combiner c = new Combiner(t);
        List<Invocation> invocations = batch.getInvocations() == null ? List.of() : batch.getInvocations();
        for (int i = 0; i < invocations.size(); i++) {
            Invocation inv = invocations.get(i);
            if (inv == null) throw M31Problem.unprocessable(Combiner.where(i), "an invocation is {key, ops}");
            Combiner.checkKey(i, inv.getKey());
            if (inv.getOps() == null) continue;
            for (var e : inv.getOps().entrySet()) {
                Op op = e.getValue();
                c.add(i, inv.getKey(), e.getKey(), op == null || op.getOp() == null ? null : op.getOp().getValue(),
                        op == null ? null : op.getN());
            }
        }
        c.invocations = invocations.size();
        return apply(c, batch.getBatchId());
    }

    /**
     * A batch read straight from the request body with a streaming parser: no object per
     * invocation, no reflective validation of each, only the combined per-key state is kept.
     */
    InvokeResult apply(SpaceType t, InputStream body) {
        Combiner c = new Combiner(t);
        String batchId = null;
        boolean sawInvocations = false;
        try (JsonParser p = json.createParser(body)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, "body", "a batch is {batchId, invocations}");
            while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                switch (name) {
                    case "batchId" -> {
                        if (v != JsonToken.VALUE_STRING) throw M31Problem.badRequest("batchId", "batchId is a string");
                        batchId = p.getString();
                    }
                    case "invocations" -> {
                        expect(v, JsonToken.START_ARRAY, "invocations", "invocations is an array");
                        sawInvocations = true;
                        int i = 0;
                        JsonToken tok;
                        while ((tok = p.nextToken()) != JsonToken.END_ARRAY) {
                            expect(tok, JsonToken.START_OBJECT, Combiner.where(i), "an invocation is {key, ops}");
                            readInvocation(p, i, c);
                            i++;
                        }
                        c.invocations = i;
                    }
                    default -> p.skipChildren();
                }
            }
        }
        if (!sawInvocations) throw M31Problem.badRequest("invocations", "invocations is required");
        return apply(c, batchId);
    }

    private static void readInvocation(JsonParser p, int i, Combiner c) {
        String key = null;
        // ops may come before the key: hold them until the invocation's object ends
        List<Object[]> ops = new ArrayList<>(2);
        boolean sawOps = false;
        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals("key")) {
                if (v != JsonToken.VALUE_STRING) throw M31Problem.unprocessable(Combiner.where(i) + ".key", "a key is a string");
                key = p.getString();
            } else if (name.equals("ops")) {
                expect(v, JsonToken.START_OBJECT, Combiner.where(i) + ".ops", "ops is an object: attribute → {op, n}");
                sawOps = true;
                while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                    String attr = p.currentName();
                    String field = Combiner.where(i) + ".ops." + SpaceQuery.abbreviate(attr);
                    expect(p.nextToken(), JsonToken.START_OBJECT, field, "an operation is {op: incr|decr|set, n}");
                    String op = null;
                    Object n = null;
                    while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                        String f = p.currentName();
                        JsonToken ov = p.nextToken();
                        if (f.equals("op")) {
                            if (ov != JsonToken.VALUE_STRING) throw M31Problem.unprocessable(field, "op is incr, decr or set");
                            op = p.getString();
                        } else if (f.equals("n")) {
                            n = value(p, ov);
                        } else {
                            p.skipChildren();
                        }
                    }
                    ops.add(new Object[] {attr, op, n});
                }
            } else {
                p.skipChildren();
            }
        }
        if (!sawOps) throw M31Problem.unprocessable(Combiner.where(i) + ".ops", "ops is required");
        Combiner.checkKey(i, key);
        for (Object[] o : ops) c.add(i, key, (String) o[0], (String) o[1], o[2]);
    }

    private static Object value(JsonParser p, JsonToken t) {
        return switch (t) {
            case VALUE_NUMBER_INT -> p.getNumberValue();
            case VALUE_NUMBER_FLOAT -> p.getDecimalValue(); // exact decimal, no binary rounding
            case VALUE_STRING -> p.getString();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> null;
            default -> p.readValueAs(Object.class); // an object or array, for Any
        };
    }

    private static void expect(JsonToken got, JsonToken want, String field, String detail) {
        if (got != want) throw M31Problem.badRequest(field, detail);
    }

    private InvokeResult apply(Combiner c, String batchId) {
        long t0 = System.nanoTime();
        SpaceType t = c.type;
        if (batchId == null || batchId.isEmpty() || batchId.length() > 200 || batchId.indexOf('\0') >= 0) {
            throw M31Problem.badRequest("batchId", "batchId is 1-200 characters");
        }
        Map<String, Acc[]> byKey = c.byKey;
        int keys = byKey.size();

        // group keys by what happens to them (the same attributes with the same kinds of op)
        String[] sorted = byKey.keySet().toArray(new String[0]);
        Arrays.sort(sorted); // one lock order for every batch: concurrent batches don't deadlock
        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (String k : sorted) {
            Acc[] accs = byKey.get(k);
            char[] shape = new char[accs.length];
            for (int j = 0; j < accs.length; j++) shape[j] = (char) ('0' + (accs[j] == null ? 0 : accs[j].kind));
            groups.computeIfAbsent(new String(shape), s -> new ArrayList<>()).add(k);
        }

        // apply in one transaction, unless this batch id was applied before
        for (int attempt = 1; ; attempt++) {
            try {
                Boolean applied = tx.execute(status -> {
                    int fresh = jdbc.update("insert into applied_batches (space, batch_id, applied_at) values (?, ?, now()) "
                            + "on conflict do nothing", t.name(), batchId);
                    if (fresh == 0) return false;
                    for (var g : groups.entrySet()) {
                        String shape = g.getKey();
                        String sql = statement(t, c.attrNames, shape);
                        List<String> ks = g.getValue();
                        for (int from = 0; from < ks.size(); from += CHUNK) {
                            execute(sql, shape, ks.subList(from, Math.min(ks.size(), from + CHUNK)), byKey);
                        }
                    }
                    return true;
                });
                log.debug("batch {} on {}: {} invocations, {} keys, {} groups, applied={} in {} ms", batchId, t.name(),
                        c.invocations, keys, groups.size(), applied, (System.nanoTime() - t0) / 1_000_000);
                InvokeResult r = new InvokeResult();
                r.setBatchId(batchId);
                r.setApplied(Boolean.TRUE.equals(applied));
                r.setKeys(keys);
                return r;
            } catch (PessimisticLockingFailureException e) {
                if (attempt >= ATTEMPTS) throw M31Problem.unavailable("the batch kept conflicting with concurrent writes; retry it");
                log.debug("batch {} on {}: {} (attempt {})", batchId, t.name(), e.getMessage(), attempt);
            }
        }
    }

    private static long sum(long a, long b, String field) {
        try {
            return Math.addExact(a, b);
        } catch (ArithmeticException e) {
            throw M31Problem.unprocessable(field, "the sum leaves the Int range");
        }
    }

    private static long negate(long d, String field) {
        if (d == Long.MIN_VALUE) throw M31Problem.unprocessable(field, "n out of range");
        return -d;
    }

    /** The upsert for one group: column c<j> carries attribute j's delta or value. */
    static String statement(SpaceType t, List<String> attrNames, String shape) {
        StringBuilder arrays = new StringBuilder("?::text[]");
        StringBuilder cols = new StringBuilder("k");
        StringBuilder fresh = new StringBuilder();
        StringBuilder merge = new StringBuilder();
        for (int j = 0; j < shape.length(); j++) {
            byte kind = (byte) (shape.charAt(j) - '0');
            if (kind == 0) continue;
            String lit = SpaceType.lit(attrNames.get(j));
            String c = "u.c" + j;
            cols.append(", c").append(j);
            if (!fresh.isEmpty()) {
                fresh.append(", ");
                merge.append(", ");
            }
            switch (kind) {
                case Acc.REL_INT -> {
                    arrays.append(", ?::bigint[]");
                    fresh.append(lit).append(", ").append(c);
                    merge.append(lit).append(", coalesce((sp.attrs->>").append(lit).append(")::bigint, 0) + (excluded.attrs->>")
                            .append(lit).append(")::bigint");
                }
                case Acc.REL_FLOAT -> {
                    arrays.append(", ?::numeric[]");
                    fresh.append(lit).append(", trim_scale(").append(c).append(")");
                    merge.append(lit).append(", trim_scale(coalesce((sp.attrs->>").append(lit).append(")::numeric, 0) + (excluded.attrs->>")
                            .append(lit).append(")::numeric)");
                }
                default -> {
                    arrays.append(", ?::text[]");
                    fresh.append(lit).append(", ").append(c).append("::jsonb");
                    merge.append(lit).append(", excluded.attrs->").append(lit);
                }
            }
        }
        return "insert into " + t.table() + " as sp (key, attrs, labels, version, created, modified) "
                + "select u.k, jsonb_build_object(" + fresh + "), '{}'::jsonb, 1, now(), now() "
                + "from unnest(" + arrays + ") as u(" + cols + ") "
                + "on conflict (key) do update set attrs = sp.attrs || jsonb_build_object(" + merge + "), "
                + "version = sp.version + 1, modified = now()";
    }

    private void execute(String sql, String shape, List<String> keys, Map<String, Acc[]> byKey) {
        jdbc.execute((Connection c) -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                List<Array> arrays = new ArrayList<>();
                arrays.add(c.createArrayOf("text", keys.toArray(new String[0])));
                int n = keys.size();
                Acc[][] rows = new Acc[n][];
                for (int i = 0; i < n; i++) rows[i] = byKey.get(keys.get(i));
                for (int j = 0; j < shape.length(); j++) {
                    byte kind = (byte) (shape.charAt(j) - '0');
                    if (kind == 0) continue;
                    switch (kind) {
                        case Acc.REL_INT -> {
                            Long[] a = new Long[n];
                            for (int i = 0; i < n; i++) a[i] = rows[i][j].l;
                            arrays.add(c.createArrayOf("bigint", a));
                        }
                        case Acc.REL_FLOAT -> {
                            BigDecimal[] a = new BigDecimal[n];
                            for (int i = 0; i < n; i++) a[i] = rows[i][j].d;
                            arrays.add(c.createArrayOf("numeric", a));
                        }
                        default -> {
                            String[] a = new String[n];
                            for (int i = 0; i < n; i++) a[i] = json.writeValueAsString(rows[i][j].v);
                            arrays.add(c.createArrayOf("text", a));
                        }
                    }
                }
                for (int i = 0; i < arrays.size(); i++) ps.setArray(i + 1, arrays.get(i));
                ps.executeUpdate();
                for (Array a : arrays) a.free();
            }
            return null;
        });
    }
}
