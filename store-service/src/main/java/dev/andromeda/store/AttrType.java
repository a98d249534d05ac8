package dev.andromeda.store;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import tools.jackson.databind.json.JsonMapper;

/**
 * The types an attribute of a space can have, and how values of each are checked, normalized
 * and compared in SQL. A value is always stored in its normalized form, so equality (jsonb
 * containment, served by the GIN index) and ordering (the expression indexes) agree with the type.
 */
enum AttrType {
    Int, Float, Str, Bool, Time, Any;

    private static final BigDecimal LONG_MIN = BigDecimal.valueOf(Long.MIN_VALUE);
    private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);

    /**
     * Times are stored in UTC with a fixed number of fraction digits, so that byte order
     * (collation "C") is time order and one btree index serves ranges and sorts.
     */
    static final DateTimeFormatter TIME_FORMAT =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'", Locale.ROOT);

    /** The type named exactly {@code name}, or null. */
    static AttrType parse(String name) {
        if (name == null) return null;
        for (AttrType t : values()) {
            if (t.name().equals(name)) return t;
        }
        return null;
    }

    /** Numeric types get a btree expression index and support incr/decr. */
    boolean numeric() { return this == Int || this == Float; }

    /** Types whose values have an order usable in lt/le/gt/ge filters and indexes. */
    boolean ordered() { return this == Int || this == Float || this == Str || this == Time; }

    /** Types that get a btree expression index of their own (besides the GIN index on attrs). */
    boolean indexed() { return this == Int || this == Float || this == Time; }

    /**
     * Checks a value as the JSON parser produced it and returns its stored form (Int → Long,
     * Float → BigDecimal, Time → normalized UTC text), or null when it is not of this type.
     */
    Object coerce(Object v) {
        if (v == null) return null;
        return switch (this) {
            case Int -> toLong(v);
            case Float -> v instanceof Number n ? toDecimal(n) : null;
            case Str -> v instanceof String s && s.indexOf('\0') < 0 ? s : null;
            case Bool -> v instanceof Boolean b ? b : null;
            case Time -> v instanceof String s ? normalizeTime(s) : null;
            case Any -> containsNul(v) ? null : v;
        };
    }

    /** Converts a query-string value to this type's stored form; null when it cannot. */
    Object fromText(String s, JsonMapper json) {
        if (s == null) return null;
        try {
            return switch (this) {
                case Int -> {
                    BigDecimal d = new BigDecimal(s.trim());
                    yield toLong(d);
                }
                case Float -> new BigDecimal(s.trim());
                case Str -> s.indexOf('\0') < 0 ? s : null;
                case Bool -> switch (s) {
                    case "true" -> Boolean.TRUE;
                    case "false" -> Boolean.FALSE;
                    default -> null;
                };
                case Time -> normalizeTime(s);
                case Any -> {
                    Object parsed;
                    try {
                        parsed = json.readValue(s, Object.class);
                    } catch (RuntimeException notJson) {
                        parsed = s; // a bare word is a string
                    }
                    yield containsNul(parsed) ? null : parsed;
                }
            };
        } catch (NumberFormatException | ArithmeticException e) {
            return null;
        }
    }

    static Long toLong(Object v) {
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

    static BigDecimal toDecimal(Number n) {
        if (n instanceof BigDecimal d) return d;
        if (n instanceof BigInteger bi) return new BigDecimal(bi);
        if (n instanceof Double || n instanceof Float) {
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

    private static boolean containsNul(Object v) {
        if (v instanceof String s) return s.indexOf('\0') >= 0;
        if (v instanceof java.util.Map<?, ?> m) {
            for (var e : m.entrySet()) {
                if (containsNul(e.getKey()) || containsNul(e.getValue())) return true;
            }
        } else if (v instanceof java.util.Collection<?> c) {
            for (Object o : c) if (containsNul(o)) return true;
        }
        return false;
    }
}
