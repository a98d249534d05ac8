package dev.andromeda.fibril.modules;

import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.Undefined;

/** Argument checks for host functions: a wrong argument is a TypeError that names it. */
final class Args {

    private Args() {}

    static Object at(Object[] args, int i) {
        return i < args.length ? args[i] : Undefined.instance;
    }

    static boolean given(Object[] args, int i) {
        Object v = at(args, i);
        return v != null && !(v instanceof Undefined);
    }

    static String string(Object[] args, int i, String what) {
        Object v = at(args, i);
        if (v instanceof CharSequence s) return s.toString();
        throw ScriptRuntime.typeError(what + " must be a string, not " + ScriptRuntime.typeof(v));
    }

    static Scriptable object(Object[] args, int i, String what) {
        Object v = at(args, i);
        if (v instanceof Scriptable s && !(v instanceof org.mozilla.javascript.Callable)) return s;
        throw ScriptRuntime.typeError(what + " must be an object, not " + ScriptRuntime.typeof(v));
    }

    /** A key as the store names it: strings as they are, integral numbers without ".0". */
    static String key(Object v, String what) {
        if (v instanceof CharSequence s) return s.toString();
        if (v instanceof Number n) {
            double d = n.doubleValue();
            if (d == Math.rint(d) && !Double.isInfinite(d)) return Long.toString((long) d);
            return ScriptRuntime.toString(d);
        }
        if (v instanceof Boolean b) return b.toString();
        throw ScriptRuntime.typeError(what + " must be a string or a number, not " + ScriptRuntime.typeof(v));
    }

    static Object get(Scriptable obj, Object id) {
        Object v = id instanceof Integer i ? obj.get(i, obj) : obj.get(id.toString(), obj);
        return v == Scriptable.NOT_FOUND ? Undefined.instance : v;
    }
}
