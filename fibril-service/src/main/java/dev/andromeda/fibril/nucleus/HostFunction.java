package dev.andromeda.fibril.nucleus;

import org.mozilla.javascript.BaseFunction;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ContinuationPending;
import org.mozilla.javascript.RhinoException;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;

/**
 * A function of a built-in module. It finds the fibril it runs for on the context (module
 * objects are shared by all fibrils of a node), checks whether the fibril was stopped, runs,
 * and hands the carrier over when the fibril's time slice is spent.
 *
 * <p>A host function that waits (remote I/O, sleep, receive) throws
 * {@link Fibril#suspend}: the carrier parks the continuation and resumes it with the answer. Rhino
 * can only resume a continuation by <em>returning</em> a value at the capture point, so a failed
 * operation cannot be thrown from there directly; such functions are therefore exposed through a
 * small interpreted shim, {@code function(){ var r = impl.apply(this, arguments); return r === MARK ?
 * raise() : r; }}, and the nucleus resumes a failed one with MARK, which makes the shim throw the
 * error as an ordinary, catchable JS Error at the call site (see {@code Modules#suspending}).
 */
public class HostFunction extends BaseFunction {

    @FunctionalInterface
    public interface Body {
        Object call(Fibril f, Context cx, Scriptable thisObj, Object[] args);
    }

    private final String name;
    private final int arity;
    private final Body body;

    public HostFunction(Context cx, Scriptable scope, String name, int arity, Body body) {
        this.name = name;
        this.arity = arity;
        this.body = body;
        ScriptRuntime.setFunctionProtoAndParent(this, cx, scope);
    }

    @Override
    public Object call(Context cx, Scriptable scope, Scriptable thisObj, Object[] args) {
        Fibril f = Fibril.current(cx);
        f.checkStop();
        Object result;
        try {
            result = body.call(f, cx, thisObj, args);
        } catch (ContinuationPending | RhinoException | Error e) {
            throw e;
        } catch (RuntimeException e) {
            // a host-side failure is the script's to handle, like any other error
            throw ScriptRuntime.constructError("Error", name + ": " + Fibril.describe(e));
        }
        return f.yieldIfSliceSpent(cx, result);
    }

    @Override public String getFunctionName() { return name; }
    @Override public int getArity() { return arity; }
    @Override public int getLength() { return arity; }
}
