package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.json.JsJson;
import java.nio.charset.StandardCharsets;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * A (possibly large) text held natively, e.g. a whole unzipped book: {@code split()} gives its
 * words, {@code text()} the JS string. It keeps the bytes it was inflated to (ISO-8859-1, one
 * char per byte): jam counts and splits them as they are, and a String is made only when a
 * script asks for one.
 */
public final class TextObject extends ScriptableObject implements JsJson.JsonValue {

    private final byte[] bytes;
    private final int length;
    private transient String text;

    TextObject(byte[] bytes, int length) {
        this.bytes = bytes;
        this.length = length;
    }

    TextObject(String text) {
        this(text.getBytes(StandardCharsets.ISO_8859_1), text.length());
        this.text = text;
    }

    /** The bytes; only the first {@link #length()} count. */
    byte[] bytes() { return bytes; }

    int length() { return length; }

    String text() {
        String t = text;
        if (t == null) text = t = new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
        return t;
    }

    @Override public String getClassName() { return "Text"; }

    @Override
    public Object get(String name, Scriptable start) {
        if (name.equals("length")) return (double) length;
        return super.get(name, start);
    }

    @Override public Object getDefaultValue(Class<?> hint) { return text(); }

    @Override public JsonNode toJson() { return JsonNodeFactory.instance.stringNode(text()); }
}
