package dev.andromeda.fibril.modules;

import dev.andromeda.common.id.Ids;
import dev.andromeda.fibril.json.JsJson;
import dev.andromeda.fibril.nucleus.Fibril;
import dev.andromeda.fibril.nucleus.HostFunction;
import dev.andromeda.fibril.nucleus.Nucleus;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.Function;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The built-in library of a node: the global types, {@code require}, and the modules sys, fs,
 * http, jam and chan. Module objects and their functions are built once per node, sealed, and
 * shared by all its fibrils (a function finds the fibril it runs for on the context); only
 * {@code sys}, which carries a fibril's args, env and parent, is made per fibril.
 */
public final class Modules {

    static final String NAMES = "sys, fs, http, jam, chan, and user modules as /code/{fingerprint or alias}";

    private final Nucleus nucleus;
    private final Scriptable shared;
    private final SysModule sys;
    private final ScriptableObject fs;
    private final ScriptableObject http;
    private final ScriptableObject jam;
    private final ChanModule chan;
    private final java.util.Map<String, org.mozilla.javascript.Scriptable> roots = new java.util.LinkedHashMap<>();

    public Modules(Nucleus nucleus, Context cx, ScriptableObject shared) {
        this.nucleus = nucleus;
        this.shared = shared;
        Types.define(cx, shared);
        this.chan = new ChanModule(this, cx, shared);
        this.sys = new SysModule(this, cx, shared);
        this.fs = new FsModule(this, cx, shared).object();
        HttpModule httpModule = new HttpModule(this, cx, shared);
        this.http = httpModule.object();
        JamModule jamModule = new JamModule(this, cx, shared);
        this.jam = jamModule.object();
        roots.put("sys", sys.functions());
        roots.put("fs", fs);
        roots.put("http", http);
        roots.put("http.response", httpModule.responseProto());
        roots.put("jam", jam);
        roots.put("jam.text", jamModule.textProto());
        roots.put("chan", chan.object());
        roots.put("chan.endpoint", chan.endpointProto());
        this.userModules = new UserModules(this);
        // it may wait (a user module's code is fetched from the store): a suspending function
        HostFunction impl = new HostFunction(cx, shared, "require", 1, (f, c, thisObj, args) -> require(f, c, args));
        impl.sealObject();
        org.mozilla.javascript.Function require = nucleus.shims().suspending(cx, shared, impl);
        if (require instanceof ScriptableObject so) so.sealObject();
        this.require = require;
        shared.defineProperty("require", require, ScriptableObject.READONLY | ScriptableObject.PERMANENT | ScriptableObject.DONTENUM);
    }

    private final UserModules userModules;
    private final org.mozilla.javascript.Function require;

    private Object require(Fibril f, Context cx, Object[] args) {
        String name = Args.string(args, 0, "require(name): name");
        if (UserModules.names(name)) return userModules.require(f, cx, require, name);
        return switch (name) {
            case "sys" -> f.locals().computeIfAbsent("module:sys", k -> sys.forFibril(cx, f));
            case "fs" -> fs;
            case "http" -> http;
            case "jam" -> jam;
            case "chan" -> chan.object();
            default -> throw ScriptRuntime.constructError("Error", "no module '" + name + "' (there are " + NAMES + ")");
        };
    }

    Nucleus nucleus() { return nucleus; }

    /** The module objects no global names (require answers them): shared, so they never travel with a fibril. */
    public java.util.Map<String, org.mozilla.javascript.Scriptable> sharedRoots() { return roots; }

    /** A new plain object whose prototype is the shared Object.prototype. */
    Scriptable newObject(Context cx) {
        return cx.newObject(shared);
    }

    /** A module object: sealed, so no fibril can change it under another. */
    ScriptableObject module(Context cx) {
        return (ScriptableObject) cx.newObject(shared);
    }

    /** Defines a function that does not wait. */
    void function(Context cx, ScriptableObject target, String name, int arity, HostFunction.Body body) {
        HostFunction fn = new HostFunction(cx, shared, name, arity, body);
        fn.sealObject();
        target.defineProperty(name, fn, ScriptableObject.READONLY | ScriptableObject.PERMANENT);
    }

    /** Defines a function that may wait: its failures come back as JS errors at the call site. */
    void suspending(Context cx, ScriptableObject target, String name, int arity, HostFunction.Body body) {
        HostFunction impl = new HostFunction(cx, shared, name, arity, body);
        impl.sealObject();
        Function shim = nucleus.shims().suspending(cx, shared, impl);
        if (shim instanceof ScriptableObject so) so.sealObject();
        target.defineProperty(name, shim, ScriptableObject.READONLY | ScriptableObject.PERMANENT);
    }

    /** JSON to JS in a fibril's scope, endpoints made live. */
    public Object toJs(Context cx, Scriptable scope, JsonNode value) {
        return JsJson.toJs(cx, scope, value, this::revive);
    }

    private Scriptable revive(Context cx, Scriptable scope, ObjectNode node) {
        JsonNode ch = node.get("$ch");
        JsonNode end = node.get("end");
        if (ch == null || end == null || !ch.isTextual() || !end.isTextual()) return null;
        String uri = ch.asString();
        String e = end.asString();
        if (!uri.startsWith("/ch/") || !(e.equals("send") || e.equals("recv"))) return null;
        String id = uri.substring(4);
        if (!Ids.isValid(id, Ids.CHANNEL)) return null;
        JsonNode cap = node.get("cap");
        if (cap != null && !cap.isTextual()) return null;
        // only the three members: anything else is a plain object that happens to have $ch
        if (node.size() != (cap == null ? 2 : 3)) return null;
        return chan.endpoint(id, e, cap == null ? null : cap.asString());
    }

    /** JS to JSON for something leaving the fibril (a message, args), within the size limit. */
    JsonNode outgoing(Object value, String what) {
        return message(value, what).json();
    }

    /** Something leaving the fibril, as JSON and as the text it was measured by (written once). */
    record Outgoing(JsonNode json, String text) {}

    Outgoing message(Object value, String what) {
        JsonNode json;
        try {
            json = JsJson.toJson(value);
        } catch (JsJson.NotJson e) {
            throw ScriptRuntime.typeError(what + " cannot be sent: " + e.getMessage());
        }
        int limit = nucleus.settings().getMaxMessageBytes();
        String text = json.toString();
        if (text.length() > limit) {
            throw ScriptRuntime.constructError("RangeError", what + " is larger than the limit of " + limit + " bytes");
        }
        return new Outgoing(json, text);
    }

    /** At a fibril's end, before its parent hears of it: what it received is acknowledged (see ChanModule). */
    public java.util.concurrent.CompletableFuture<Void> settle(Fibril f) {
        return chan.settle(f);
    }

    Endpoint endpoint(String channel, String end, String cap) {
        return chan.endpoint(channel, end, cap);
    }

    ChanModule chan() { return chan; }

    /**
     * Completes when every async send of {@code f} that went on before its message was durable is
     * durable; fails with the first refused one the fibril did not hear of yet (see ChanModule).
     */
    public java.util.concurrent.CompletableFuture<Void> sendsDurable(Fibril f) {
        return chan.sendsDurable(f);
    }

    /** {@code f} ended: what the node kept for its sends goes once they are durable. */
    public void forget(Fibril f) {
        chan.forget(f);
    }

    /** Sync messages this node handed from one of its fibrils to another in memory, since it started. */
    public long handedInMemory() { return chan.handedInMemory(); }
}
