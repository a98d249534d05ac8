package dev.andromeda.fibril.sandbox;

import org.mozilla.javascript.Context;
import org.mozilla.javascript.EvaluatorException;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.WrapFactory;

/**
 * Refuses to hand any Java object to a script. Host code returns only JS values; if a Java
 * object ever leaks, the script gets an error instead of a LiveConnect handle onto the JVM.
 */
final class NoJavaWrapFactory extends WrapFactory {

    NoJavaWrapFactory() {
        setJavaPrimitiveWrap(false);
    }

    @Override
    public Scriptable wrapAsJavaObject(Context cx, Scriptable scope, Object javaObject, Class<?> staticType) {
        throw new EvaluatorException("Java objects are not reachable from fibrils");
    }

    @Override
    public Scriptable wrapJavaClass(Context cx, Scriptable scope, Class<?> javaClass) {
        throw new EvaluatorException("Java classes are not reachable from fibrils");
    }
}
