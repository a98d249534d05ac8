package dev.andromeda.fibril.sandbox;

/** {@code sys.exit(value)}: unwinds the whole fibril, past any try/catch, with its result. */
public final class FibrilExit extends Error {

    private final transient Object value;

    public FibrilExit(Object value) {
        super("sys.exit", null, false, false);
        this.value = value;
    }

    public Object value() { return value; }
}
