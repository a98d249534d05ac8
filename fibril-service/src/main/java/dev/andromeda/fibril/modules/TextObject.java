package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.json.JsJson;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * A (possibly large) text held natively, e.g. a whole unzipped book: {@code split()} gives its
 * words, {@code text()} the JS string; it is not copied into the script until asked.
 */
public final class TextObject extends ScriptableObject implements JsJson.JsonValue {

    private final String text;

    TextObject(String text) { this.text = text; }

    String text() { return text; }

    @Override public String getClassName() { return "Text"; }

    @Override
    public Object get(String name, Scriptable start) {
        if (name.equals("length")) return (double) text.length();
        return super.get(name, start);
    }

    @Override public Object getDefaultValue(Class<?> hint) { return text; }

    @Override public JsonNode toJson() { return JsonNodeFactory.instance.stringNode(text); }
}
