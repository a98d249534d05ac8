package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.json.JsJson;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import tools.jackson.databind.JsonNode;

/** Opaque bytes (a downloaded body): scripts see its length and hand it to jam; nothing else. */
public final class BytesObject extends ScriptableObject implements JsJson.JsonValue {

    private final byte[] bytes;

    BytesObject(byte[] bytes) { this.bytes = bytes; }

    byte[] bytes() { return bytes; }

    @Override public String getClassName() { return "Bytes"; }

    @Override
    public Object get(String name, Scriptable start) {
        if (name.equals("length")) return (double) bytes.length;
        return super.get(name, start);
    }

    @Override public Object getDefaultValue(Class<?> hint) { return "[Bytes " + bytes.length + "]"; }

    @Override
    public JsonNode toJson() {
        throw new JsJson.NotJson("bytes do not travel as JSON: decode them first (jam.unzip, res.text())");
    }
}
