package dev.andromeda.fibril.nucleus;

import org.mozilla.javascript.BaseFunction;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.Function;
import org.mozilla.javascript.NativeObject;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;

/**
 * Wraps the host functions that wait, so that a failed wait surfaces as a JS error at the call
 * site (see {@link HostFunction}). The wrapper is interpreted JS, so capturing a continuation
 * through it still works; the marker is a node-private object no script can name.
 */
public final class Shims {

    private final Object mark;
    private final Function factory;
    private final BaseFunction raise;

    Shims(Context cx, Scriptable shared) {
        NativeObject m = new NativeObject();
        m.sealObject();
        this.mark = m;
        this.factory = (Function) cx.evaluateString(shared,
                "(function (impl, mark, raise) {\n"
                        + "  return function () { var r = impl.apply(this, arguments); return r === mark ? raise() : r; };\n"
                        + "})", "<nucleus>", 1, null);
        this.raise = new BaseFunction() {
            @Override
            public Object call(Context c, Scriptable scope, Scriptable thisObj, Object[] args) {
                throw ScriptRuntime.constructError("Error", Fibril.current(c).takePendingError());
            }
        };
        ScriptRuntime.setFunctionProtoAndParent(raise, cx, shared);
    }

    /** What a failed wait resumes with. */
    Object mark() { return mark; }

    /** {@code impl} as scripts should see it: failures of its wait rethrown in the script. */
    public Function suspending(Context cx, Scriptable scope, HostFunction impl) {
        return (Function) factory.call(cx, scope, scope, new Object[] {impl, mark, raise});
    }
}
