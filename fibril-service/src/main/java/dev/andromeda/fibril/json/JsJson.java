package dev.andromeda.fibril.json;

import java.util.IdentityHashMap;
import java.util.Map;
import org.mozilla.javascript.Callable;
import org.mozilla.javascript.ConsString;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.NativeArray;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import org.mozilla.javascript.Symbol;
import org.mozilla.javascript.Undefined;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * JS values to JSON and back, the way JSON.stringify / JSON.parse would, with two additions:
 * integral numbers become JSON integers (JS has only doubles; 3 must travel as 3, not 3.0), and
 * host objects that stand for something (a channel endpoint, a type) travel as their JSON form
 * and come back alive through a {@link Reviver}.
 */
public final class JsJson {

    /** A host object with a JSON form of its own. */
    public interface JsonValue {
        JsonNode toJson();
    }

    /** Turns a JSON object back into a live host object, or answers null to leave it plain. */
    @FunctionalInterface
    public interface Reviver {
        Scriptable revive(Context cx, Scriptable scope, ObjectNode node);
    }

    /** A JS value that has no JSON form (a cycle, too deep). */
    public static final class NotJson extends RuntimeException {
        public NotJson(String message) { super(message, null, false, false); }
    }

    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final int MAX_DEPTH = 1000;
    private static final double MAX_SAFE = 9007199254740991d;

    private JsJson() {}

    public static JsonNode toJson(Object value) {
        JsonNode n = convert(value, new IdentityHashMap<>(), 0);
        return n == null ? F.nullNode() : n;
    }

    /** Null means "leave out" (undefined, functions), as JSON.stringify does inside objects. */
    private static JsonNode convert(Object v, Map<Object, Boolean> path, int depth) {
        if (v == null || v instanceof Undefined) return null;
        if (v instanceof Boolean b) return F.booleanNode(b);
        if (v instanceof CharSequence s) return F.stringNode(s.toString());
        if (v instanceof Number num) return number(num);
        if (v instanceof JsonValue jv) return jv.toJson();
        if (v instanceof Symbol || v instanceof Callable) return null;
        if (!(v instanceof Scriptable obj)) {
            throw new NotJson("a host value of type " + v.getClass().getSimpleName() + " has no JSON form");
        }
        if (depth > MAX_DEPTH) throw new NotJson("value nested deeper than " + MAX_DEPTH + " levels");
        if (path.put(obj, Boolean.TRUE) != null) throw new NotJson("cyclic value: it refers to itself");
        try {
            switch (obj.getClassName()) {
                case "Date" -> {
                    Object iso = ScriptableObject.callMethod(obj, "toISOString", ScriptRuntime.emptyArgs);
                    return F.stringNode(String.valueOf(iso));
                }
                case "String", "Number", "Boolean" -> {
                    return convert(obj.getDefaultValue(null), path, depth + 1);
                }
                default -> { }
            }
            if (obj instanceof NativeArray arr) {
                long len = arr.getLength();
                ArrayNode out = F.arrayNode((int) Math.min(len, 1 << 20));
                for (long i = 0; i < len; i++) {
                    Object e = arr.get((int) i, arr);
                    JsonNode en = e == Scriptable.NOT_FOUND ? null : convert(e, path, depth + 1);
                    out.add(en == null ? F.nullNode() : en);
                }
                return out;
            }
            ObjectNode out = F.objectNode();
            for (Object id : obj.getIds()) {
                Object e = id instanceof Integer i ? obj.get(i, obj) : obj.get(id.toString(), obj);
                if (e == Scriptable.NOT_FOUND) continue;
                JsonNode en = convert(e, path, depth + 1);
                if (en != null) out.set(id.toString(), en);
            }
            return out;
        } finally {
            path.remove(obj);
        }
    }

    private static JsonNode number(Number num) {
        if (num instanceof Integer || num instanceof Long || num instanceof Short || num instanceof Byte) {
            return F.numberNode(num.longValue());
        }
        double d = num.doubleValue();
        if (Double.isNaN(d) || Double.isInfinite(d)) return F.nullNode();
        if (d == Math.rint(d) && Math.abs(d) <= MAX_SAFE && !(d == 0 && 1 / d < 0)) return F.numberNode((long) d);
        return F.numberNode(d);
    }

    public static Object toJs(Context cx, Scriptable scope, JsonNode n, Reviver reviver) {
        if (n == null || n.isNull() || n.isMissingNode()) return null;
        if (n.isBoolean()) return n.booleanValue();
        if (n.isNumber()) return n.doubleValue();
        if (n.isTextual()) return n.asString();
        if (n.isArray()) {
            Object[] items = new Object[n.size()];
            for (int i = 0; i < items.length; i++) items[i] = toJs(cx, scope, n.get(i), reviver);
            return cx.newArray(scope, items);
        }
        if (n.isObject()) {
            if (reviver != null) {
                Scriptable live = reviver.revive(cx, scope, (ObjectNode) n);
                if (live != null) return live;
            }
            Scriptable obj = cx.newObject(scope);
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                obj.put(e.getKey(), obj, toJs(cx, scope, e.getValue(), reviver));
            }
            return obj;
        }
        return n.asString();
    }

    /** A JS string for messages: ConsString and friends flattened. */
    public static String string(Object v) {
        if (v instanceof ConsString cs) return cs.toString();
        return ScriptRuntime.toString(v);
    }
}
