package dev.andromeda.fibril.nucleus;

import org.mozilla.javascript.Script;

/**
 * Compiled code: a top-level script, a function expression (what sys.spawn ships) which, run,
 * evaluates to the function to call, or a user module (its source wrapped as a function of
 * module, exports and require). Compiled once per node and fingerprint; a compiled
 * script is run in any number of fibril scopes.
 */
public record Program(Kind kind, String fingerprint, Script script, String source) {

    public enum Kind { SCRIPT, FUNCTION, MODULE }
}
