package dev.andromeda.store.invoke;

import dev.andromeda.api.model.InvokeBatch;
import dev.andromeda.api.model.InvokeResult;
import dev.andromeda.api.model.Invocation;
import dev.andromeda.api.model.ObjectInvoke;
import dev.andromeda.api.model.Op;
import dev.andromeda.api.model.StoredObject;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.store.feed.ChangeFeed;
import dev.andromeda.store.objects.ObjectStore;
import dev.andromeda.store.query.SpaceQuery;
import dev.andromeda.store.space.AttrType;
import dev.andromeda.store.space.SpaceType;
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
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.dao.PessimisticLockingFailureException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.json.JsonMapper;

/**
 * Batches of server-side atomic operations on a space (incr, decr, min, max, set, setIfAbsent,
 * add, remove), applied idempotently: the batch id is recorded in the same transaction that
 * applies the batch, so a retry changes nothing. The batch is validated whole before anything is
 * applied, repeated (key, attribute) operations are combined in memory into one function of the
 * old value, and then keys that received the same kinds of operations are applied together, one
 * statement per group and per {@value #CHUNK} keys: {@code INSERT … SELECT … FROM unnest(arrays)
 * ON CONFLICT DO UPDATE} when every attribute is a plain shift or assignment (the hot path of
 * word counts), else a {@code MERGE … USING unnest(arrays)} that can carry several arrays per
 * attribute (a shift and bounds, or the elements removed and added). Every key is touched by one
 * statement, once, so its version rises by one per batch.
 */
@Service
public class Invoker {

    private static final Logger log = LoggerFactory.getLogger(Invoker.class);

    public static final int CHUNK = 10_000;
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
    public static final class Acc {
        static final byte REL_INT = 1, REL_FLOAT = 2, ABS = 3, GEN = 4;
        static final Object ABSENT = new Object();
        byte kind;
        long l;          // REL_INT delta
        BigDecimal d;    // REL_FLOAT delta
        Object v;        // ABS value, in the attribute's stored form
        // GEN, on a present value: ordered types x → least(greatest(x + gd, lo), hi) (text: no gd);
        // lists: (replace ? [] : x) without rem, then add's elements not there; others: setTo when hasSet
        BigDecimal gd;
        Object lo, hi;
        boolean replace, hasSet;
        List<Object> rem, add;
        Object setTo;
        Object absent = ABSENT; // GEN: the value when the attribute had none
    }

    /** Checks operations one by one against the space's type and combines them per (key, attribute). */
    public static final class Combiner {
        final SpaceType type;
        final List<String> attrNames;
        private final Map<String, Integer> ordinal = new HashMap<>();
        private final AttrType[] types;
        final Map<String, Acc[]> byKey = new HashMap<>();

        /** The keys the batch touches (the combined form: each once). */
        public Set<String> keys() { return byKey.keySet(); }

        /** What the batch does to one key's attributes, by attribute ordinal; null if it leaves the key alone. */
        public Acc[] accs(String key) { return byKey.get(key); }
        final JsonMapper json;
        int invocations;

        Combiner(SpaceType type, JsonMapper json) {
            this.type = type;
            this.json = json;
            this.attrNames = new ArrayList<>(type.attrs().keySet());
            for (int i = 0; i < attrNames.size(); i++) ordinal.put(attrNames.get(i), i);
            this.types = attrNames.stream().map(type.attrs()::get).toArray(AttrType[]::new);
        }

        AttrType[] types() { return types; }

        static String where(int i) { return "invocations[" + i + "]"; }

        /** The index of the one invocation of {@code POST /fs/{space}/{key}:invoke}, whose body is {ops} itself. */
        static final int ONE = -1;

        /** Where an operation is (invocation i, attribute): named only when a problem needs it, not per operation. */
        record At(int i, String attr) {
            String name() { return (i == ONE ? "" : where(i) + ".") + "ops." + SpaceType.abbreviate(attr); }
        }

        static void checkKey(int i, String key) {
            if (key == null || key.isEmpty() || key.length() > 1024 || key.indexOf('\0') >= 0) {
                throw M31Problem.unprocessable(where(i) + ".key", "a key is 1-1024 characters, without NUL");
            }
        }

        /** One operation of invocation {@code i}: {@code op} is incr, decr or set. */
        void add(int i, String key, String attr, String op, Object n) {
            At field = new At(i, attr);
            Integer ord = ordinal.get(attr);
            if (ord == null) {
                if (type.isKey(attr)) throw M31Problem.unprocessable(field.name(), "the key attribute cannot be changed by an invocation");
                throw M31Problem.unprocessable(field.name(), "no attribute '" + SpaceType.abbreviate(attr) + "' in space " + type.name());
            }
            if (op == null) throw M31Problem.unprocessable(field.name(), "an operation is {op, n}; op is one of " + OPS);
            Acc[] accs = byKey.get(key);
            if (accs == null) {
                accs = new Acc[types.length];
                byKey.put(key, accs);
            }
            Acc acc = accs[ord];
            boolean fresh = acc == null;
            if (fresh) acc = new Acc();
            combine(acc, op, types[ord], attr, field, n, json);
            if (fresh) accs[ord] = acc;
        }

        private static void combine(Acc acc, String op, AttrType type, String attr, At field, Object n, JsonMapper json) {
            if (acc.kind != Acc.GEN) {
                switch (op) {
                    case "incr", "decr" -> {
                        boolean neg = op.equals("decr");
                        if (type.kind == AttrType.Kind.Int) {
                            Long d = n == null ? Long.valueOf(1) : AttrType.toLong(n);
                            if (d == null) throw M31Problem.unprocessable(field.name(), "incr/decr of an Int takes an integral n, got " + n);
                            long delta = neg ? negate(d, field) : d;
                            if (acc.kind == Acc.ABS) acc.v = sum((Long) acc.v, delta, field);
                            else {
                                acc.kind = Acc.REL_INT;
                                acc.l = sum(acc.l, delta, field);
                            }
                            return;
                        } else if (type.kind == AttrType.Kind.Float) {
                            BigDecimal d = n == null ? BigDecimal.ONE : n instanceof Number num ? AttrType.toDecimal(num) : null;
                            if (d == null) throw M31Problem.unprocessable(field.name(), "incr/decr of a Float takes a number n, got " + n);
                            if (neg) d = d.negate();
                            if (acc.kind == Acc.ABS) acc.v = ((BigDecimal) acc.v).add(d);
                            else {
                                acc.kind = Acc.REL_FLOAT;
                                acc.d = acc.d == null ? d : acc.d.add(d);
                            }
                            return;
                        }
                        throw M31Problem.unprocessable(field.name(), "incr/decr apply to Int and Float attributes; " + attr + " is a " + type);
                    }
                    case "set" -> {
                        acc.kind = Acc.ABS;
                        acc.v = value(type, attr, field, op, n, json);
                        acc.d = null;
                        acc.l = 0;
                        return;
                    }
                    default -> toGeneric(acc, type);
                }
            }
            generic(acc, op, type, attr, field, n, json);
        }

        /** The plain kinds as the general form, before an operation they cannot express. */
        private static void toGeneric(Acc acc, AttrType type) {
            byte was = acc.kind;
            acc.kind = Acc.GEN;
            acc.rem = new ArrayList<>();
            acc.add = new ArrayList<>();
            if (type.numeric()) acc.gd = BigDecimal.ZERO;
            switch (was) {
                case Acc.REL_INT -> {
                    acc.gd = BigDecimal.valueOf(acc.l);
                    acc.absent = acc.l;
                }
                case Acc.REL_FLOAT -> {
                    acc.gd = acc.d;
                    acc.absent = acc.d;
                }
                case Acc.ABS -> assign(acc, type, acc.v);
                default -> { /* fresh: the identity, nothing known for an absent value */ }
            }
        }

        private static void assign(Acc acc, AttrType type, Object v) {
            if (type.ordered()) {
                if (type.numeric()) acc.gd = BigDecimal.ZERO;
                acc.lo = v;
                acc.hi = v;
            } else if (type.isList()) {
                acc.replace = true;
                acc.rem = new ArrayList<>();
                acc.add = new ArrayList<>((List<?>) v);
            } else {
                acc.hasSet = true;
                acc.setTo = v;
            }
            acc.absent = v;
        }

        private static void generic(Acc acc, String op, AttrType type, String attr, At field, Object n, JsonMapper json) {
            switch (op) {
                case "incr", "decr" -> {
                    if (!type.numeric()) throw M31Problem.unprocessable(field.name(), "incr/decr apply to Int and Float attributes; " + attr + " is a " + type);
                    Object e = n == null ? (type.kind == AttrType.Kind.Int ? (Object) 1L : BigDecimal.ONE) : type.coerce(n, json);
                    if (e == null) throw M31Problem.unprocessable(field.name(), op + " of " + attr + " takes a " + type + " n, got " + n);
                    BigDecimal d = AttrType.toDecimal((Number) e);
                    if (op.equals("decr")) d = d.negate();
                    acc.gd = acc.gd.add(d);
                    if (acc.lo != null) acc.lo = plus(type, acc.lo, d, field);
                    if (acc.hi != null) acc.hi = plus(type, acc.hi, d, field);
                    acc.absent = plus(type, acc.absent == Acc.ABSENT ? (type.kind == AttrType.Kind.Int ? (Object) 0L : BigDecimal.ZERO)
                            : acc.absent, d, field);
                }
                case "min", "max" -> {
                    if (!type.ordered()) throw M31Problem.unprocessable(field.name(), "min/max apply to Int, Float, Str and Time attributes; " + attr + " is a " + type);
                    Object m = value(type, attr, field, op, n, json);
                    boolean min = op.equals("min");
                    if (min) {
                        acc.lo = acc.lo == null ? null : pick(acc.lo, m, true);
                        acc.hi = acc.hi == null ? m : pick(acc.hi, m, true);
                    } else {
                        acc.lo = acc.lo == null ? m : pick(acc.lo, m, false);
                        acc.hi = acc.hi == null ? null : pick(acc.hi, m, false);
                    }
                    acc.absent = acc.absent == Acc.ABSENT ? m : pick(acc.absent, m, min);
                }
                case "set" -> assign(acc, type, value(type, attr, field, op, n, json));
                case "setIfAbsent" -> {
                    Object v = value(type, attr, field, op, n, json);
                    if (acc.absent == Acc.ABSENT) acc.absent = v;
                }
                case "add", "remove" -> {
                    if (!type.isList()) throw M31Problem.unprocessable(field.name(), "add/remove apply to List attributes; " + attr + " is a " + type);
                    Object x = type.elem.coerce(n, json);
                    if (x == null) {
                        AttrType.Mismatch m = type.elem.mismatch(n, json);
                        // the field is where it is in the request body: ops.<attr>.n…
                        throw M31Problem.unprocessable(m.at().isEmpty() ? field.name() : field.name() + ".n" + m.at(),
                                op + " on " + attr + " takes one element: " + m.in("n"));
                    }
                    List<Object> absent = acc.absent == Acc.ABSENT ? new ArrayList<>() : new ArrayList<>((List<?>) acc.absent);
                    if (op.equals("add")) {
                        if (!contains(acc.add, x)) acc.add.add(x);
                        if (!contains(absent, x)) absent.add(x);
                    } else {
                        acc.add.removeIf(a -> same(a, x));
                        if (!contains(acc.rem, x)) acc.rem.add(x);
                        absent.removeIf(a -> same(a, x));
                    }
                    acc.absent = absent;
                }
                default -> throw M31Problem.unprocessable(field.name(), "unknown operation '" + SpaceType.abbreviate(op) + "'; use " + OPS);
            }
        }

        private static Object value(AttrType type, String attr, At field, String op, Object n, JsonMapper json) {
            Object v = type.coerce(n, json);
            if (v == null) {
                AttrType.Mismatch m = type.mismatch(n, json);
                throw M31Problem.unprocessable(m.at().isEmpty() ? field.name() : field.name() + ".n" + m.at(), op + " on " + m.in(attr));
            }
            return v;
        }

        private static Object plus(AttrType type, Object a, BigDecimal d, At field) {
            if (type.kind == AttrType.Kind.Int) {
                BigDecimal r = AttrType.toDecimal((Number) a).add(d);
                Long l = AttrType.toLong(r);
                if (l == null) throw M31Problem.unprocessable(field.name(), "the sum leaves the Int range");
                return l;
            }
            return AttrType.toDecimal((Number) a).add(d);
        }

        private static Object pick(Object a, Object b, boolean min) {
            int c = AttrType.compare(a, b);
            return min ? (c <= 0 ? a : b) : (c >= 0 ? a : b);
        }

        static boolean same(Object a, Object b) {
            if (a instanceof Number x && b instanceof Number y) return AttrType.toDecimal(x).compareTo(AttrType.toDecimal(y)) == 0;
            return java.util.Objects.equals(a, b);
        }

        static boolean contains(List<Object> l, Object x) {
            for (Object o : l) if (same(o, x)) return true;
            return false;
        }
    }

    static final String OPS = "incr, decr, min, max, set, setIfAbsent, add, remove";

    /** A batch, checked and combined, with its (checked) id: for the main line or a branch. */
    public record Parsed(Combiner combiner, String batchId) {}

    /** A batch already bound to the generated model. */
    InvokeResult apply(SpaceType t, InvokeBatch batch) {
        Parsed b = combine(t, batch);
        return apply(b.combiner(), b.batchId());
    }

    public Parsed combine(SpaceType t, InvokeBatch batch) {
        Combiner c = new Combiner(t, json);
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
        return new Parsed(c, checkBatchId(batch.getBatchId()));
    }

    /**
     * A batch read straight from the request body with a streaming parser: no object per
     * invocation, no reflective validation of each, only the combined per-key state is kept.
     */
    public InvokeResult apply(SpaceType t, InputStream body) {
        Parsed b = read(t, body);
        return apply(b.combiner(), b.batchId());
    }

    public Parsed read(SpaceType t, InputStream body) {
        Combiner c = new Combiner(t, json);
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
                            if (tok != JsonToken.START_OBJECT) throw M31Problem.badRequest(Combiner.where(i), "an invocation is {key, ops}");
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
        return new Parsed(c, checkBatchId(batchId));
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
                if (v != JsonToken.START_OBJECT) throw M31Problem.badRequest(Combiner.where(i) + ".ops", "ops is an object: attribute → {op, n}");
                sawOps = true;
                while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                    String attr = p.currentName();
                    Combiner.At field = new Combiner.At(i, attr);
                    if (p.nextToken() != JsonToken.START_OBJECT) throw M31Problem.badRequest(field.name(), "an operation is {op: incr|decr|set, n}");
                    String op = null;
                    Object n = null;
                    while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                        String f = p.currentName();
                        JsonToken ov = p.nextToken();
                        if (f.equals("op")) {
                            if (ov != JsonToken.VALUE_STRING) throw M31Problem.unprocessable(field.name(), "op is incr, decr or set");
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

    /**
     * Operations on one key, answered with the object after them (read in the same transaction).
     * Without a batch id the call is not idempotent (a random one is used).
     */
    public StoredObject applyOne(SpaceType t, String key, ObjectInvoke body, ObjectStore objects) {
        Combiner c = combineOne(t, key, body);
        String batchId = batchIdOf(body);
        StoredObject[] after = new StoredObject[1];
        apply(c, batchId, () -> after[0] = objects.find(t, key).orElse(null));
        if (after[0] == null) throw M31Problem.notFound("no object " + SpaceType.abbreviate(key) + " in space " + t.name());
        return after[0];
    }

    /** The operations on one key, checked and combined (for the main line or a branch). */
    public Combiner combineOne(SpaceType t, String key, ObjectInvoke body) {
        ObjectStore.checkKey(key);
        Combiner c = new Combiner(t, json);
        if (body.getOps() != null) {
            for (var e : body.getOps().entrySet()) {
                Op op = e.getValue();
                c.add(Combiner.ONE, key, e.getKey(), op == null || op.getOp() == null ? null : op.getOp().getValue(), op == null ? null : op.getN());
            }
        }
        c.invocations = 1;
        return c;
    }

    /** Without a batch id the call is not idempotent (a random one is used). */
    public static String batchIdOf(ObjectInvoke body) {
        return checkBatchId(body.getBatchId() == null ? "one-" + java.util.UUID.randomUUID() : body.getBatchId());
    }

    static String checkBatchId(String id) {
        if (id == null || id.isEmpty() || id.length() > 200 || id.indexOf('\0') >= 0) throw M31Problem.badRequest("batchId", "batchId is 1-200 characters");
        return id;
    }

    /**
     * The combined operations applied to attribute values in memory: the same functions the
     * statements compute in the database (for a branch, whose state is one row of its own).
     * Answers the attributes after them.
     */
    public static Map<String, Object> applyTo(Combiner c, Acc[] accs, Map<String, Object> attrs) {
        Map<String, Object> out = new java.util.TreeMap<>(attrs);
        AttrType[] types = c.types();
        for (int j = 0; j < accs.length; j++) {
            Acc a = accs[j];
            if (a == null) continue;
            String name = c.attrNames.get(j);
            Combiner.At at = new Combiner.At(0, name);
            Object old = out.get(name), v = old == null ? absentValue(a) : presentValue(a, types[j], old, at);
            if (v != null) out.put(name, v);
        }
        return out;
    }

    private static Object absentValue(Acc a) {
        return switch (a.kind) {
            case Acc.REL_INT -> a.l;
            case Acc.REL_FLOAT -> trim(a.d);
            case Acc.ABS -> a.v;
            default -> a.absent == Acc.ABSENT ? null : a.absent;
        };
    }

    private static Object presentValue(Acc a, AttrType type, Object old, Combiner.At at) {
        switch (a.kind) {
            case Acc.REL_INT -> {
                Long x = AttrType.toLong(old);
                return sum(x == null ? 0 : x, a.l, at);
            }
            case Acc.REL_FLOAT -> {
                return trim((old instanceof Number n ? AttrType.toDecimal(n) : BigDecimal.ZERO).add(a.d));
            }
            case Acc.ABS -> {
                return a.v;
            }
            default -> {
                if (type.numeric()) {
                    BigDecimal x = AttrType.toDecimal((Number) old).add(a.gd);
                    if (a.lo != null && x.compareTo(AttrType.toDecimal((Number) a.lo)) < 0) x = AttrType.toDecimal((Number) a.lo);
                    if (a.hi != null && x.compareTo(AttrType.toDecimal((Number) a.hi)) > 0) x = AttrType.toDecimal((Number) a.hi);
                    if (type.kind != AttrType.Kind.Int) return trim(x);
                    Long l = AttrType.toLong(x);
                    if (l == null) throw M31Problem.unprocessable(at.name(), "the result leaves the Int range");
                    return l;
                }
                if (type.ordered()) {
                    Object x = old;
                    if (a.lo != null && AttrType.compare(x, a.lo) < 0) x = a.lo;
                    if (a.hi != null && AttrType.compare(x, a.hi) > 0) x = a.hi;
                    return x;
                }
                if (type.isList()) {
                    List<Object> kept = new ArrayList<>();
                    if (!a.replace && old instanceof List<?> l) {
                        for (Object e : l) if (!Combiner.contains(a.rem, e)) kept.add(e);
                    }
                    for (Object e : a.add) if (!Combiner.contains(kept, e)) kept.add(e);
                    return kept;
                }
                return a.hasSet ? a.setTo : old;
            }
        }
    }

    /** As trim_scale: no trailing zeros, and never an exponent form. */
    private static BigDecimal trim(BigDecimal d) {
        BigDecimal s = d.stripTrailingZeros();
        return s.scale() < 0 ? s.setScale(0) : s;
    }

    public InvokeResult apply(Combiner c, String batchId) {
        return apply(c, batchId, null);
    }

    private InvokeResult apply(Combiner c, String batchId, Runnable readBack) {
        long t0 = System.nanoTime();
        SpaceType t = c.type;
        checkBatchId(batchId);
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
        String labels = json.writeValueAsString(t.objectDefaults());

        // apply in one transaction, unless this batch id was applied before
        for (int attempt = 1; ; attempt++) {
            try {
                Boolean applied = tx.execute(status -> {
                    int fresh = jdbc.update("insert into applied_batches (space, batch_id, applied_at) values (?, ?, now()) "
                            + "on conflict do nothing", t.name(), batchId);
                    if (fresh == 0) {
                        if (readBack != null) readBack.run();
                        return false;
                    }
                    for (var g : groups.entrySet()) {
                        String shape = g.getKey();
                        boolean general = shape.indexOf('0' + Acc.GEN) >= 0;
                        String sql = general ? merge(t, c.attrNames, c.types(), shape) : statement(t, c.attrNames, shape);
                        List<String> ks = g.getValue();
                        for (int from = 0; from < ks.size(); from += CHUNK) {
                            execute(sql, shape, c.types(), ks.subList(from, Math.min(ks.size(), from + CHUNK)), byKey, labels);
                        }
                    }
                    if (!groups.isEmpty()) {
                        // one change per batch, in the batch's transaction: the feed names the keys
                        jdbc.execute((Connection con) -> {
                            try (PreparedStatement change = con.prepareStatement(
                                    "insert into changes (space, op, keys, ref) values (?, 'invoke', ?, ?)")) {
                                Array all = con.createArrayOf("text", sorted);
                                change.setString(1, t.name());
                                change.setArray(2, all);
                                change.setString(3, batchId);
                                change.executeUpdate();
                                all.free();
                            }
                            return null;
                        });
                        jdbc.queryForList("select pg_notify(?, ?)", ChangeFeed.CHANNEL, t.name());
                    }
                    if (readBack != null) readBack.run();
                    return true;
                });
                log.debug("batch {} on {}: {} invocations, {} keys, {} groups, applied={} in {} ms", batchId, t.name(),
                        c.invocations, keys, groups.size(), applied, (System.nanoTime() - t0) / 1_000_000);
                InvokeResult r = new InvokeResult();
                r.setBatchId(batchId);
                r.setApplied(Boolean.TRUE.equals(applied));
                r.setKeys(keys);
                return r;
            } catch (PessimisticLockingFailureException | DuplicateKeyException e) {
                // DuplicateKey: a MERGE lost the race to insert a key a concurrent batch inserted first
                if (attempt >= ATTEMPTS) throw M31Problem.unavailable("the batch kept conflicting with concurrent writes; retry it");
                log.debug("batch {} on {}: {} (attempt {})", batchId, t.name(), e.getMessage(), attempt);
            }
        }
    }

    private static long sum(long a, long b, Combiner.At field) {
        try {
            return Math.addExact(a, b);
        } catch (ArithmeticException e) {
            throw M31Problem.unprocessable(field.name(), "the sum leaves the Int range");
        }
    }

    private static long negate(long d, Combiner.At field) {
        if (d == Long.MIN_VALUE) throw M31Problem.unprocessable(field.name(), "n out of range");
        return -d;
    }

    /** The upsert for one group of plain shifts and assignments: column c<j> carries attribute j's delta or value. */
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
                + "select u.k, jsonb_build_object(" + fresh + "), d.labels, 1, now(), now() "
                + "from unnest(" + arrays + ") as u(" + cols + "), (select ?::jsonb as labels) as d "
                + "on conflict (key) do update set attrs = sp.attrs || jsonb_build_object(" + merge + "), "
                + "version = sp.version + 1, modified = now()";
    }

    /** The arrays one attribute of a general group carries, by the attribute's type. */
    private static String[] generalArrays(AttrType type) {
        if (type.numeric()) return new String[] {"numeric", "numeric", "numeric", "text"};  // shift, lo, hi, absent
        if (type.ordered()) return new String[] {"text", "text", "text"};                    // lo, hi, absent
        if (type.isList()) return new String[] {"boolean", "text", "text", "text"};          // replace, rem, add, absent
        return new String[] {"text", "text"};                                                  // set, absent
    }

    /**
     * The statement of a group with at least one general operation: MERGE can read every array
     * of the row in both branches, where ON CONFLICT DO UPDATE only sees the proposed row.
     */
    static String merge(SpaceType t, List<String> attrNames, AttrType[] types, String shape) {
        StringBuilder arrays = new StringBuilder("?::text[]");
        StringBuilder cols = new StringBuilder("k");
        StringBuilder fresh = new StringBuilder();
        StringBuilder update = new StringBuilder();
        for (int j = 0; j < shape.length(); j++) {
            byte kind = (byte) (shape.charAt(j) - '0');
            if (kind == 0) continue;
            String lit = SpaceType.lit(attrNames.get(j));
            String old = "(sp.attrs->>" + lit + ")";
            if (!fresh.isEmpty()) {
                fresh.append(", ");
                update.append(", ");
            }
            fresh.append(lit).append(", ");
            update.append(lit).append(", ");
            switch (kind) {
                case Acc.REL_INT -> {
                    arrays.append(", ?::bigint[]");
                    cols.append(", c").append(j);
                    fresh.append("u.c").append(j);
                    update.append("coalesce(").append(old).append("::bigint, 0) + u.c").append(j);
                }
                case Acc.REL_FLOAT -> {
                    arrays.append(", ?::numeric[]");
                    cols.append(", c").append(j);
                    fresh.append("trim_scale(u.c").append(j).append(")");
                    update.append("trim_scale(coalesce(").append(old).append("::numeric, 0) + u.c").append(j).append(")");
                }
                case Acc.ABS -> {
                    arrays.append(", ?::text[]");
                    cols.append(", c").append(j);
                    fresh.append("u.c").append(j).append("::jsonb");
                    update.append("u.c").append(j).append("::jsonb");
                }
                default -> {
                    AttrType type = types[j];
                    String[] kinds = generalArrays(type);
                    for (int x = 0; x < kinds.length; x++) {
                        arrays.append(", ?::").append(kinds[x]).append("[]");
                        cols.append(", c").append(j).append('_').append(x);
                    }
                    String u = "u.c" + j + "_";
                    String absent = u + (kinds.length - 1) + "::jsonb";
                    fresh.append(absent);
                    String present;
                    if (type.numeric()) {
                        String clamp = "least(greatest(" + old + "::numeric + " + u + "0, " + u + "1), " + u + "2)";
                        present = "to_jsonb(" + (type.kind == AttrType.Kind.Int ? clamp + "::bigint" : "trim_scale(" + clamp + ")") + ")";
                    } else if (type.ordered()) {
                        present = "to_jsonb(least(greatest(" + old + " collate \"C\", " + u + "0), " + u + "1))";
                    } else if (type.isList()) {
                        present = "list_apply(sp.attrs->" + lit + ", " + u + "0, " + u + "1::jsonb, " + u + "2::jsonb)";
                    } else {
                        present = "coalesce(" + u + "0::jsonb, sp.attrs->" + lit + ")";
                    }
                    update.append("case when (sp.attrs->").append(lit).append(") is not null then ").append(present)
                            .append(" else ").append(absent).append(" end");
                }
            }
        }
        return "merge into " + t.table() + " as sp using (select * from unnest(" + arrays + ") as u(" + cols + ")) as u "
                + "on sp.key = u.k "
                + "when matched then update set attrs = sp.attrs || jsonb_build_object(" + update + "), "
                + "version = sp.version + 1, modified = now() "
                + "when not matched then insert (key, attrs, labels, version, created, modified) "
                + "values (u.k, jsonb_build_object(" + fresh + "), ?::jsonb, 1, now(), now())";
    }

    private void execute(String sql, String shape, AttrType[] types, List<String> keys, Map<String, Acc[]> byKey, String labels) {
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
                        case Acc.ABS -> {
                            String[] a = new String[n];
                            for (int i = 0; i < n; i++) a[i] = json.writeValueAsString(rows[i][j].v);
                            arrays.add(c.createArrayOf("text", a));
                        }
                        default -> generalArrays(c, types[j], rows, j, arrays);
                    }
                }
                for (int i = 0; i < arrays.size(); i++) ps.setArray(i + 1, arrays.get(i));
                ps.setString(arrays.size() + 1, labels);
                ps.executeUpdate();
                for (Array a : arrays) a.free();
            }
            return null;
        });
    }

    private void generalArrays(Connection c, AttrType type, Acc[][] rows, int j, List<Array> arrays) throws java.sql.SQLException {
        int n = rows.length;
        String[] absent = new String[n];
        for (int i = 0; i < n; i++) absent[i] = json.writeValueAsString(rows[i][j].absent);
        if (type.numeric()) {
            BigDecimal[] d = new BigDecimal[n], lo = new BigDecimal[n], hi = new BigDecimal[n];
            for (int i = 0; i < n; i++) {
                Acc a = rows[i][j];
                d[i] = a.gd;
                lo[i] = a.lo == null ? null : AttrType.toDecimal((Number) a.lo);
                hi[i] = a.hi == null ? null : AttrType.toDecimal((Number) a.hi);
            }
            arrays.add(c.createArrayOf("numeric", d));
            arrays.add(c.createArrayOf("numeric", lo));
            arrays.add(c.createArrayOf("numeric", hi));
        } else if (type.ordered()) {
            String[] lo = new String[n], hi = new String[n];
            for (int i = 0; i < n; i++) {
                lo[i] = (String) rows[i][j].lo;
                hi[i] = (String) rows[i][j].hi;
            }
            arrays.add(c.createArrayOf("text", lo));
            arrays.add(c.createArrayOf("text", hi));
        } else if (type.isList()) {
            Boolean[] rep = new Boolean[n];
            String[] rem = new String[n], add = new String[n];
            for (int i = 0; i < n; i++) {
                Acc a = rows[i][j];
                rep[i] = a.replace;
                rem[i] = json.writeValueAsString(a.rem);
                add[i] = json.writeValueAsString(a.add);
            }
            arrays.add(c.createArrayOf("boolean", rep));
            arrays.add(c.createArrayOf("text", rem));
            arrays.add(c.createArrayOf("text", add));
        } else {
            String[] set = new String[n];
            for (int i = 0; i < n; i++) set[i] = rows[i][j].hasSet ? json.writeValueAsString(rows[i][j].setTo) : null;
            arrays.add(c.createArrayOf("text", set));
        }
        arrays.add(c.createArrayOf("text", absent));
    }
}
