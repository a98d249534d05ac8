package dev.andromeda.fibril.sandbox;

import org.mozilla.javascript.Context;
import org.mozilla.javascript.ContextFactory;

/**
 * The Rhino factory of one node. Never the global factory: two nodes share a JVM in local
 * mode, and each has its own limits. Every context it makes is interpreted (continuations need
 * it), sees no Java class, wraps no Java object, and reports instructions to whatever
 * {@link Meter} the carrier put on it for the fibril it runs.
 */
public final class SandboxContextFactory extends ContextFactory {

    /** Context thread-local under which the carrier puts the running fibril's meter. */
    public static final Object METER_KEY = new Object();

    /** Instructions between two meter callbacks: small enough that a kill lands fast. */
    static final int OBSERVER_THRESHOLD = 10_000;

    private final int maxStackDepth;

    public SandboxContextFactory(int maxStackDepth) {
        this.maxStackDepth = maxStackDepth;
    }

    @Override
    protected Context makeContext() {
        Context cx = super.makeContext();
        cx.setInterpretedMode(true);
        cx.setLanguageVersion(Context.VERSION_ES6);
        cx.setClassShutter(className -> false);
        cx.setWrapFactory(new NoJavaWrapFactory());
        cx.setInstructionObserverThreshold(OBSERVER_THRESHOLD);
        cx.setMaximumInterpreterStackDepth(maxStackDepth);
        cx.setGeneratingDebug(true);
        return cx;
    }

    @Override
    protected boolean hasFeature(Context cx, int featureIndex) {
        return switch (featureIndex) {
            // a script must never catch the Java errors that stop it (budget, kill, exit)
            case Context.FEATURE_ENHANCED_JAVA_ACCESS -> false;
            default -> super.hasFeature(cx, featureIndex);
        };
    }

    @Override
    protected void observeInstructionCount(Context cx, int instructionCount) {
        Object meter = cx.getThreadLocal(METER_KEY);
        if (meter instanceof Meter m) m.count(instructionCount);
    }

    /** Told how many instructions ran; throws a {@link FibrilStop} to end the fibril. */
    public interface Meter {
        void count(int instructions);
    }
}
