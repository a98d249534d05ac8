package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.json.JsJson;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * One end of a channel, as a script holds it: {@code $ch} (the channel's URI), {@code end}
 * ("send" or "recv") and, for a channel that requires them, {@code cap} (the capability the
 * channel service checks), with send/recv from a shared prototype. It travels inside messages,
 * spawn arguments and migration packets as {"$ch": "/ch/…", "end": …, "cap": …} and comes out
 * alive on the other side: holding the object is holding the right to use it.
 */
public final class Endpoint extends ScriptableObject implements JsJson.JsonValue {

    private final String channel;
    private final String end;
    private final String cap;

    Endpoint(String channel, String end, String cap) {
        this.channel = channel;
        this.end = end;
        this.cap = cap;
    }

    public String channel() { return channel; }
    public String end() { return end; }
    /** The capability, or null for a channel created without "capabilities": true. */
    public String cap() { return cap; }
    public boolean sends() { return end.equals("send"); }

    @Override public String getClassName() { return "Endpoint"; }

    @Override
    public Object get(String name, Scriptable start) {
        if (name.equals("$ch")) return "/ch/" + channel;
        if (name.equals("end")) return end;
        if (name.equals("cap") && cap != null) return cap;
        return super.get(name, start);
    }

    @Override
    public boolean has(String name, Scriptable start) {
        return name.equals("$ch") || name.equals("end") || (name.equals("cap") && cap != null) || super.has(name, start);
    }

    @Override
    public Object[] getIds() { return cap == null ? new Object[] {"$ch", "end"} : new Object[] {"$ch", "end", "cap"}; }

    @Override
    public Object getDefaultValue(Class<?> hint) { return "[" + end + " endpoint /ch/" + channel + "]"; }

    @Override
    public JsonNode toJson() {
        ObjectNode n = JsonNodeFactory.instance.objectNode().put("$ch", "/ch/" + channel).put("end", end);
        if (cap != null) n.put("cap", cap);
        return n;
    }
}
