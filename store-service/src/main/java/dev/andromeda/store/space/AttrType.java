package dev.andromeda.store.space;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The type of an attribute: a scalar ({@code Int, Float, Str, Bool, Time, Any}, the names fibrils
 * use), a list of a type, an object with typed members, or a JSON Schema. Values are always
 * stored in their normalized form, so equality (jsonb containment, served by the GIN index) and
 * ordering (the expression indexes) agree with the type.
 */
public final class AttrType {

    public enum Kind { Int, Float, Str, Bool, Time, Any, List, Obj, Schema }

    static final AttrType Int = new AttrType(Kind.Int, null, null, null);
    static final AttrType Float = new AttrType(Kind.Float, null, null, null);
    static final AttrType Str = new AttrType(Kind.Str, null, null, null);
    static final AttrType Bool = new AttrType(Kind.Bool, null, null, null);
    static final AttrType Time = new AttrType(Kind.Time, null, null, null);
    static final AttrType Any = new AttrType(Kind.Any, null, null, null);
    private static final List<AttrType> SCALARS = List.of(Int, Float, Str, Bool, Time, Any);

    /** Nesting deeper than this is refused: a type is data from a request. */
    static final int MAX_DEPTH = 8;

    private static final SchemaRegistry SCHEMAS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final BigDecimal LONG_MIN = BigDecimal.valueOf(Long.MIN_VALUE);
    private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);

    /**
     * Times are stored in UTC with a fixed number of fraction digits, so that byte order
     * (collation "C") is time order and one btree index serves ranges and sorts.
     */
    static final DateTimeFormatter TIME_FORMAT =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'", Locale.ROOT);

    public final Kind kind;
    public final AttrType elem;                    // List
    final Map<String, AttrType> fields;     // Obj, sorted
    final JsonNode schemaNode;              // Schema
    private final Schema schema;

    private AttrType(Kind kind, AttrType elem, Map<String, AttrType> fields, JsonNode schemaNode) {
        this.kind = kind;
        this.elem = elem;
        this.fields = fields;
        this.schemaNode = schemaNode;
        this.schema = schemaNode == null ? null : SCHEMAS.getSchema(schemaNode);
    }

    /** Thrown by {@link #parse} with what is wrong, for a 422 naming the attribute. */
    static final class BadType extends RuntimeException {
        BadType(String m) { super(m, null, false, false); }
    }

    /** A type from its API form (a string or a one-member object, see m31.yaml AttrType). */
    static AttrType parse(Object spec, JsonMapper json) {
        return parse(spec, json, 0);
    }

    private static AttrType parse(Object spec, JsonMapper json, int depth) {
        if (depth > MAX_DEPTH) throw new BadType("types nest at most " + MAX_DEPTH + " deep");
        if (spec instanceof String s) return parseName(s.trim(), json, depth);
        if (spec instanceof JsonNode n) return parse(json.convertValue(n, Object.class), json, depth);
        if (spec instanceof Map<?, ?> m && m.size() == 1) {
            var e = m.entrySet().iterator().next();
            Object v = e.getValue();
            switch (String.valueOf(e.getKey())) {
                case "List" -> {
                    return list(parse(v, json, depth + 1));
                }
                case "Obj" -> {
                    if (!(v instanceof Map<?, ?> members)) throw new BadType("Obj takes an object of member name → type");
                    TreeMap<String, AttrType> fields = new TreeMap<>();
                    for (var f : members.entrySet()) {
                        String name = String.valueOf(f.getKey());
                        if (name.isEmpty() || name.length() > 256 || name.indexOf('\0') >= 0) {
                            throw new BadType("an Obj member name is 1-256 characters");
                        }
                        fields.put(name, parse(f.getValue(), json, depth + 1));
                    }
                    return new AttrType(Kind.Obj, null, Collections.unmodifiableMap(fields), null);
                }
                case "Schema" -> {
                    JsonNode node = json.valueToTree(v);
                    if (!node.isObject() && !node.isBoolean()) throw new BadType("Schema takes a JSON Schema (an object)");
                    try {
                        dev.andromeda.common.schema.UserSchemas.check(node);
                    } catch (dev.andromeda.common.schema.UserSchemas.Unusable e2) {
                        throw new BadType(e2.getMessage());
                    }
                    try {
                        return new AttrType(Kind.Schema, null, null, node);
                    } catch (RuntimeException e2) {
                        throw new BadType("not a usable JSON Schema: " + e2.getMessage());
                    }
                }
                default -> { /* below */ }
            }
        }
        throw new BadType("a type is Int, Float, Str, Bool, Time, Any, List<T>, {\"List\": T}, {\"Obj\": {…}} or {\"Schema\": {…}}");
    }

    private static AttrType parseName(String s, JsonMapper json, int depth) {
        for (AttrType t : SCALARS) if (t.kind.name().equals(s)) return t;
        if (s.startsWith("List<") && s.endsWith(">")) return list(parse(s.substring(5, s.length() - 1), json, depth + 1));
        throw new BadType("unknown type '" + SpaceType.abbreviate(s) + "'; types are Int, Float, Str, Bool, Time, Any, List<T>, {\"Obj\": {…}}, {\"Schema\": {…}}");
    }

    static AttrType list(AttrType elem) {
        return new AttrType(Kind.List, elem, null, null);
    }

    /** The API (and catalog) form: a string when the type has one, else a one-member object. */
    Object describe() {
        return switch (kind) {
            case List -> elem.describe() instanceof String s ? "List<" + s + ">" : Map.of("List", elem.describe());
            case Obj -> {
                Map<String, Object> m = new LinkedHashMap<>();
                fields.forEach((k, v) -> m.put(k, v.describe()));
                yield Map.of("Obj", m);
            }
            case Schema -> Map.of("Schema", schemaNode);
            default -> kind.name();
        };
    }

    @Override
    public String toString() {
        return describe() instanceof String s ? s : kind.name();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AttrType t && kind == t.kind && Objects.equals(elem, t.elem) && Objects.equals(fields, t.fields)
                && Objects.equals(schemaNode, t.schemaNode);
    }

    @Override
    public int hashCode() { return Objects.hash(kind, elem, fields, schemaNode); }

    /** The type of field {@code name} of an Obj, or null (no such field, or not an Obj). */
    public AttrType field(String name) { return kind == Kind.Obj ? fields.get(name) : null; }

    /** An Obj's field names. */
    public java.util.Set<String> fieldNames() { return kind == Kind.Obj ? fields.keySet() : java.util.Set.of(); }

    public boolean numeric() { return kind == Kind.Int || kind == Kind.Float; }

    /** Values with an order usable in lt/le/gt/ge filters, min/max and indexes. */
    public boolean ordered() { return numeric() || kind == Kind.Str || kind == Kind.Time; }

    /** Types whose value can have a btree expression index. */
    public boolean indexable() { return ordered() || kind == Kind.Bool; }

    /** Types indexed by default (besides the GIN index on all attrs). */
    boolean indexedByDefault() { return numeric() || kind == Kind.Time; }

    public boolean isList() { return kind == Kind.List; }

    /**
     * Checks a value as the JSON parser produced it and returns its stored form (Int → Long,
     * Float → BigDecimal, Time → normalized UTC text, lists and objects element by element),
     * or null when it is not of this type.
     */
    public Object coerce(Object v, JsonMapper json) {
        if (v == null) return null;
        return switch (kind) {
            case Int -> toLong(v);
            case Float -> v instanceof Number n ? toDecimal(n) : null;
            case Str -> v instanceof String s && s.indexOf('\0') < 0 ? s : null;
            case Bool -> v instanceof Boolean b ? b : null;
            case Time -> v instanceof String s ? normalizeTime(s) : null;
            case Any -> containsNul(v) ? null : v;
            case List -> {
                if (!(v instanceof Collection<?> c)) yield null;
                List<Object> out = new ArrayList<>(c.size());
                for (Object e : c) {
                    Object x = elem.coerce(e, json);
                    if (x == null) yield null;
                    out.add(x);
                }
                yield out;
            }
            case Obj -> {
                if (!(v instanceof Map<?, ?> m)) yield null;
                Map<String, Object> out = new TreeMap<>();
                for (var e : m.entrySet()) {
                    AttrType ft = fields.get(String.valueOf(e.getKey()));
                    if (ft == null) yield null;
                    Object x = ft.coerce(e.getValue(), json);
                    if (x == null) yield null;
                    out.put(String.valueOf(e.getKey()), x);
                }
                yield out;
            }
            case Schema -> {
                if (containsNul(v)) yield null;
                List<Error> errors = schema.validate(json.valueToTree(v));
                yield errors.isEmpty() ? v : null;
            }
        };
    }

    /**
     * Where inside a refused value it first goes wrong ({@code at}: "" for the value itself,
     * ".city", "[2]", ".addr.zip"…) and why: a 422 names the innermost field, not "expected Obj".
     */
    public record Mismatch(String at, String why) {
        public String in(String attr) { return attr + at + ": " + why; }
    }

    /** Why {@code v} (which {@link #coerce} refused) is not of this type, as deep as it goes. */
    public Mismatch mismatch(Object v, JsonMapper json) {
        if (kind == Kind.List && v instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) {
                if (elem.coerce(e, json) == null) {
                    Mismatch inner = elem.mismatch(e, json);
                    return new Mismatch("[" + i + "]" + inner.at(), inner.why());
                }
                i++;
            }
        }
        if (kind == Kind.Obj && v instanceof Map<?, ?> m) {
            for (var e : m.entrySet()) {
                String k = String.valueOf(e.getKey());
                AttrType ft = fields.get(k);
                if (ft == null) {
                    return new Mismatch("." + SpaceType.abbreviate(k), "no such field (the fields are " + String.join(", ", fields.keySet()) + ")");
                }
                if (ft.coerce(e.getValue(), json) == null) {
                    Mismatch inner = ft.mismatch(e.getValue(), json);
                    return new Mismatch("." + SpaceType.abbreviate(k) + inner.at(), inner.why());
                }
            }
        }
        String why = whyNot(v, json);
        return new Mismatch("", kind == Kind.Schema && v != null ? why : why + ", got " + describe(v));
    }

    /** A value as a 422 detail names it. */
    public static String describe(Object v) {
        if (v == null) return "null";
        if (v instanceof String s) return "the string \"" + SpaceType.abbreviate(s) + "\"";
        if (v instanceof Number n) return "the number " + n;
        if (v instanceof Boolean b) return "the boolean " + b;
        if (v instanceof Map<?, ?>) return "an object";
        if (v instanceof List<?>) return "an array";
        return v.getClass().getSimpleName();
    }

    /** Why {@code v} was refused, for the 422 detail (only a JSON Schema knows more than "expected T"). */
    public String whyNot(Object v, JsonMapper json) {
        if (kind == Kind.Schema && v != null) {
            List<Error> errors = schema.validate(json.valueToTree(v));
            if (!errors.isEmpty()) {
                Error e = errors.get(0);
                return (e.getInstanceLocation() == null ? "$" : e.getInstanceLocation().toString()) + ": " + e.getMessage();
            }
        }
        return "expected " + this;
    }

    /** Converts a query-string value to this type's stored form; null when it cannot. */
    public Object fromText(String s, JsonMapper json) {
        if (s == null) return null;
        try {
            return switch (kind) {
                case Int -> toLong(new BigDecimal(s.trim()));
                case Float -> new BigDecimal(s.trim());
                case Str -> s.indexOf('\0') < 0 ? s : null;
                case Bool -> switch (s) {
                    case "true" -> Boolean.TRUE;
                    case "false" -> Boolean.FALSE;
                    default -> null;
                };
                case Time -> normalizeTime(s);
                default -> {
                    Object parsed;
                    try {
                        parsed = json.readValue(s, Object.class);
                    } catch (RuntimeException notJson) {
                        parsed = s; // a bare word is a string
                    }
                    yield coerce(parsed, json);
                }
            };
        } catch (NumberFormatException | ArithmeticException e) {
            return null;
        }
    }

    public static Long toLong(Object v) {
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof BigInteger bi) {
            return bi.bitLength() < 64 ? bi.longValue() : null;
        }
        if (v instanceof Number n) {
            BigDecimal d = toDecimal(n);
            if (d == null || d.compareTo(LONG_MIN) < 0 || d.compareTo(LONG_MAX) > 0) return null;
            try {
                return d.stripTrailingZeros().longValueExact(); // 5.0 is an Int, 5.5 is not
            } catch (ArithmeticException notIntegral) {
                return null;
            }
        }
        return null;
    }

    public static BigDecimal toDecimal(Number n) {
        if (n instanceof BigDecimal d) return d;
        if (n instanceof BigInteger bi) return new BigDecimal(bi);
        if (n instanceof Double || n instanceof java.lang.Float) {
            double d = n.doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) return null;
            return new BigDecimal(Double.toString(d)); // the shortest decimal that reads back as d
        }
        return BigDecimal.valueOf(n.longValue());
    }

    static String normalizeTime(String s) {
        try {
            OffsetDateTime t = OffsetDateTime.parse(s.trim(), DateTimeFormatter.ISO_OFFSET_DATE_TIME);
            OffsetDateTime utc = t.withOffsetSameInstant(ZoneOffset.UTC);
            if (utc.getYear() < 0 || utc.getYear() > 9999) return null;
            return TIME_FORMAT.format(utc);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    static boolean containsNul(Object v) {
        if (v instanceof String s) return s.indexOf('\0') >= 0;
        if (v instanceof Map<?, ?> m) {
            for (var e : m.entrySet()) {
                if (containsNul(e.getKey()) || containsNul(e.getValue())) return true;
            }
        } else if (v instanceof Collection<?> c) {
            for (Object o : c) if (containsNul(o)) return true;
        }
        return false;
    }

    /** Order of stored values of an ordered type (code points for text, as collation "C" orders UTF-8). */
    @SuppressWarnings("unchecked")
    public static int compare(Object a, Object b) {
        if (a instanceof Long x && b instanceof Long y) return Long.compare(x, y);
        if (a instanceof Number x && b instanceof Number y) return toDecimal(x).compareTo(toDecimal(y));
        if (a instanceof String x && b instanceof String y) {
            int i = 0, j = 0;
            while (i < x.length() && j < y.length()) {
                int cx = x.codePointAt(i), cy = y.codePointAt(j);
                if (cx != cy) return Integer.compare(cx, cy);
                i += Character.charCount(cx);
                j += Character.charCount(cy);
            }
            return Integer.compare(x.length() - i, y.length() - j);
        }
        return ((Comparable<Object>) a).compareTo(b);
    }
}
