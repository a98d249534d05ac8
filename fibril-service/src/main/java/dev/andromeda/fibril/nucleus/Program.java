package dev.andromeda.fibril.nucleus;

import org.mozilla.javascript.Script;

/**
 * Compiled code: a top-level script, or a function expression (what sys.spawn ships) which, run,
 * evaluates to the function to call. Compiled once per node and fingerprint; a compiled
 * script is run in any number of fibril scopes.
 */
public record Program(Kind kind, String fingerprint, Script script, String source) {

    public enum Kind { SCRIPT, FUNCTION }
}
