package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.json.JsJson;
import org.mozilla.javascript.BaseFunction;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * The global types {@code Int, Float, Str, Bool, Time, Any}: values whose string form is their
 * name (what fs.mkdir stores as an attribute's type), and on Int the invocation markers
 * {@code Int.incr} (by one), {@code Int.incr(n)}, {@code Int.decr}, {@code Int.decr(n)} that
 * fs.invoke applies atomically in the store.
 */
public final class Types {

    static final String[] NAMES = {"Int", "Float", "Str", "Bool", "Time", "Any"};

    private Types() {}

    static void define(Context cx, ScriptableObject shared) {
        for (String name : NAMES) {
            TypeObject t = new TypeObject(name);
            t.setPrototype(ScriptableObject.getObjectPrototype(shared));
            t.setParentScope(shared);
            if (name.equals("Int")) {
                t.defineProperty("incr", marker(cx, shared, "incr", 1), ScriptableObject.READONLY | ScriptableObject.PERMANENT);
                t.defineProperty("decr", marker(cx, shared, "decr", 1), ScriptableObject.READONLY | ScriptableObject.PERMANENT);
            }
            t.sealObject();
            shared.defineProperty(name, t, ScriptableObject.READONLY | ScriptableObject.PERMANENT | ScriptableObject.DONTENUM);
        }
    }

    static Marker marker(Context cx, Scriptable scope, String op, long n) {
        Marker m = new Marker(op, n);
        ScriptRuntime.setFunctionProtoAndParent(m, cx, scope);
        m.sealObject();
        return m;
    }

    /** A type: prints as its name, travels as its name. */
    public static final class TypeObject extends ScriptableObject implements JsJson.JsonValue {
        private final String name;

        TypeObject(String name) { this.name = name; }

        public String name() { return name; }

        @Override public String getClassName() { return "Type"; }
        @Override public Object getDefaultValue(Class<?> hint) { return name; }
        @Override public JsonNode toJson() { return JsonNodeFactory.instance.stringNode(name); }
    }

    /** An atomic operation on a numeric attribute, by {@code n}; callable to choose another n. */
    public static final class Marker extends BaseFunction implements JsJson.JsonValue {
        private final String op;
        private final long n;

        Marker(String op, long n) {
            this.op = op;
            this.n = n;
        }

        public String op() { return op; }
        public long n() { return n; }

        /** The signed amount to add. */
        public long delta() { return op.equals("decr") ? -n : n; }

        @Override
        public Object call(Context cx, Scriptable scope, Scriptable thisObj, Object[] args) {
            double d = args.length == 0 ? 1 : ScriptRuntime.toNumber(args[0]);
            if (Double.isNaN(d) || Double.isInfinite(d) || d != Math.rint(d) || d < 0) {
                throw ScriptRuntime.typeError("Int." + op + "(n) needs a whole number n >= 0");
            }
            return marker(cx, scope, op, (long) d);
        }

        @Override
        public Scriptable construct(Context cx, Scriptable scope, Object[] args) {
            throw ScriptRuntime.typeError("Int." + op + " is not a constructor");
        }

        @Override public String getFunctionName() { return op; }
        @Override public Object getDefaultValue(Class<?> hint) { return "Int." + op + "(" + n + ")"; }

        @Override
        public JsonNode toJson() {
            return JsonNodeFactory.instance.objectNode().put("op", op).put("n", n);
        }
    }
}
