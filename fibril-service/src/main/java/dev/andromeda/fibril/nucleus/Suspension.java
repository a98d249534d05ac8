package dev.andromeda.fibril.nucleus;

import java.io.Serializable;
import java.util.concurrent.CompletableFuture;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.Scriptable;

/**
 * What a parked fibril waits for: an operation in flight, and how its Java answer becomes the JS
 * value the suspended host call returns. {@code errorsToScript} says the call went through a
 * shim that rethrows a failure inside the script (see {@link HostFunction}); a plain yield never
 * fails. {@code restart}, when present, says how to start the same wait again, on this node or
 * another: a sleep, or a receive between two polls, can then move without waiting for its end.
 */
public record Suspension(String what, CompletableFuture<?> future, ToJs toJs, boolean errorsToScript, Restart restart) {

    public Suspension(String what, CompletableFuture<?> future, ToJs toJs, boolean errorsToScript) {
        this(what, future, toJs, errorsToScript, null);
    }

    /** Runs on a carrier, inside the fibril's context, when the operation is done. */
    @FunctionalInterface
    public interface ToJs {
        Object apply(Context cx, Scriptable scope, Object value);
    }

    /**
     * A wait that can be started again from its description alone (it travels in a migration
     * packet): it answers the new suspension for fibril {@code f} on {@code nucleus}.
     */
    public interface Restart extends Serializable {
        Suspension start(Nucleus nucleus, Fibril f);

        /**
         * True when the wait may be cut at any time (a sleep); false when it must end on its own
         * first (a receive: a poll in flight may be taking a message, which must not be lost), by
         * completing with {@link #AGAIN} once it sees a transfer is asked.
         */
        default boolean cutAnyTime() { return true; }
    }

    /** What a restartable wait completes with when it stopped for a transfer: "start me again". */
    public static final Object AGAIN = new Object() {
        @Override public String toString() { return "AGAIN"; }
    };

    static final ToJs SAME = (cx, scope, value) -> value;

    /** A completed wait whose JS value is already known (a resumed transfer). */
    static Suspension ready(String what, Object jsValue, boolean errorsToScript) {
        return new Suspension(what, CompletableFuture.completedFuture(jsValue), SAME, errorsToScript);
    }
}
