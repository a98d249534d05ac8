package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.json.JsJson;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * One end of a channel, as a script holds it: {@code $ch} (the channel's URI) and {@code end}
 * ("send" or "recv"), with send/recv from a shared prototype. It travels inside messages as
 * {"$ch": "/ch/…", "end": …} and comes out alive on the other side.
 */
public final class Endpoint extends ScriptableObject implements JsJson.JsonValue {

    private final String channel;
    private final String end;

    Endpoint(String channel, String end) {
        this.channel = channel;
        this.end = end;
    }

    public String channel() { return channel; }
    public String end() { return end; }
    public boolean sends() { return end.equals("send"); }

    @Override public String getClassName() { return "Endpoint"; }

    @Override
    public Object get(String name, Scriptable start) {
        if (name.equals("$ch")) return "/ch/" + channel;
        if (name.equals("end")) return end;
        return super.get(name, start);
    }

    @Override
    public boolean has(String name, Scriptable start) {
        return name.equals("$ch") || name.equals("end") || super.has(name, start);
    }

    @Override
    public Object[] getIds() { return new Object[] {"$ch", "end"}; }

    @Override
    public Object getDefaultValue(Class<?> hint) { return "[" + end + " endpoint /ch/" + channel + "]"; }

    @Override
    public JsonNode toJson() {
        return JsonNodeFactory.instance.objectNode().put("$ch", "/ch/" + channel).put("end", end);
    }
}
