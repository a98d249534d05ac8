package dev.andromeda.fibril.sandbox;

/**
 * Ends a fibril from inside the interpreter: a budget or a limit ran out, or someone killed it.
 * An {@link Error}, not an exception, because Rhino lets no script catch an Error (nor run its
 * finally blocks) unless enhanced Java access is on, which the sandbox keeps off.
 */
public final class FibrilStop extends Error {

    private final boolean killed;

    public FibrilStop(String reason, boolean killed) {
        super(reason, null, false, false);
        this.killed = killed;
    }

    /** Killed on request (state killed), as opposed to failed on a limit (state failed). */
    public boolean killed() { return killed; }
}
