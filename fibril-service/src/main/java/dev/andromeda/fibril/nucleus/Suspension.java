package dev.andromeda.fibril.nucleus;

import java.util.concurrent.CompletableFuture;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.Scriptable;

/**
 * What a parked fibril waits for: an operation in flight, and how its Java answer becomes the JS
 * value the suspended host call returns. {@code errorsToScript} says the call went through a
 * shim that rethrows a failure inside the script (see {@link HostFunction}); a plain yield never
 * fails.
 */
public record Suspension(String what, CompletableFuture<?> future, ToJs toJs, boolean errorsToScript) {

    /** Runs on a carrier, inside the fibril's context, when the operation is done. */
    @FunctionalInterface
    public interface ToJs {
        Object apply(Context cx, Scriptable scope, Object value);
    }

    static final ToJs SAME = (cx, scope, value) -> value;
}
