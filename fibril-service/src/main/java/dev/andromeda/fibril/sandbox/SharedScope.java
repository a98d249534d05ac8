package dev.andromeda.fibril.sandbox;

import org.mozilla.javascript.Context;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;

/**
 * The standard objects of one node, built once and sealed, which every fibril's global scope
 * has as prototype. A fibril's globals live in its own small scope, so a node parks hundreds of
 * thousands of fibrils without a copy of the standard library each, and sealing means no fibril
 * can change a builtin under another (Array.prototype stays Array.prototype).
 */
public final class SharedScope {

    private SharedScope() {}

    /**
     * Safe standard objects only (no Packages, java, getClass, importClass, JavaAdapter), sealed,
     * under an unsealed layer for the node's own globals; the caller seals that layer when done.
     */
    public static ScriptableObject create(Context cx) {
        ScriptableObject shared = cx.initSafeStandardObjects(null, true);
        // Constructors load lazily on first touch; touch them all now, on one thread, so that
        // fibrils on several carriers never race to initialise the same sealed builtin.
        for (Object id : shared.getAllIds()) {
            if (id instanceof String name) ScriptableObject.getProperty(shared, name);
        }
        // the node's own globals (types, require) go on a layer above, sealed by the caller
        ScriptableObject library = (ScriptableObject) cx.newObject(shared);
        library.setPrototype(shared);
        library.setParentScope(null);
        return library;
    }

    /** A fresh global scope for one fibril, reading through to the shared standard objects. */
    public static ScriptableObject newGlobal(Context cx, ScriptableObject shared) {
        ScriptableObject global = (ScriptableObject) cx.newObject(shared);
        global.setPrototype(shared);
        global.setParentScope(null);
        return global;
    }

    public static boolean isSealed(Scriptable s) {
        return s instanceof ScriptableObject so && so.isSealed();
    }
}
