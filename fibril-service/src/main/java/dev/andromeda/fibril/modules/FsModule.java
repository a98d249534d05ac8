package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.effects.EffectCombiner;
import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.mantle.Mantle.SpaceInfo;
import dev.andromeda.fibril.nucleus.Fibril;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import org.mozilla.javascript.Undefined;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code fs}: the flat labeled store as a fibril sees it.
 *
 * <p>{@code fs.invoke({word: w, freq: Int.incr})} names its space by its key attribute: the
 * space is the one whose key attribute is one of the object's plain (non-marker) properties.
 * Markers (Int.incr, Int.decr) go to the node's combiner and cost no request; plain properties
 * other than the key are set, in a batch of their own, after this fibril's earlier effects are
 * durable so the order holds. {@code fs.get} and {@code fs.query} first make the node's pending
 * effects durable: a fibril reads its own writes. Every call, combined ones included, carries
 * the identity of the fibril's spawner (its {@link Fibril#mantle()}), so the store checks the
 * user's rights, not the node's.
 */
final class FsModule {

    private static final Pattern SPACE = Pattern.compile("[a-z][a-z0-9_]{0,62}");
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final int MAX_KEY = 1024;

    private final Modules modules;
    private final Mantle mantle;
    private final EffectCombiner combiner;
    private final SpaceDirectory dir;
    private final ScriptableObject object;

    FsModule(Modules modules, Context cx, Scriptable shared) {
        this.modules = modules;
        this.mantle = modules.nucleus().mantle();
        this.combiner = modules.nucleus().combiner();
        this.dir = new SpaceDirectory(mantle);
        object = modules.module(cx);
        modules.suspending(cx, object, "mkdir", 2, this::mkdir);
        modules.suspending(cx, object, "invoke", 2, this::invoke);
        modules.suspending(cx, object, "invokeAll", 3, this::invokeAll);
        modules.suspending(cx, object, "get", 2, this::get);
        modules.suspending(cx, object, "put", 4, this::put);
        modules.suspending(cx, object, "query", 2, this::query);
        object.sealObject();
    }

    ScriptableObject object() { return object; }

    private static String space(Object[] args, int i, String fn) {
        String s = Args.string(args, i, fn + ": the space name");
        if (!SPACE.matcher(s).matches()) {
            throw ScriptRuntime.typeError(fn + ": '" + s + "' is not a space name (lower-case letters, digits, _; a letter first)");
        }
        return s;
    }

    // --- mkdir ----------------------------------------------------------------------------

    private Object mkdir(Fibril f, Context cx, Scriptable thisObj, Object[] args) {
        String name = space(args, 0, "fs.mkdir");
        JsonNode spec = modules.outgoing(Args.object(args, 1, "fs.mkdir(name, spec): spec"), "the space spec");
        throw f.suspend(cx, "fs.mkdir", () -> f.mantle().makeSpace(name, spec).whenComplete((v, e) -> dir.forget()),
                (c, scope, v) -> v == null ? Undefined.instance : modules.toJs(c, scope, (JsonNode) v));
    }

    // --- invoke ---------------------------------------------------------------------------

    /** An fs.invoke object split into its markers and its plain properties (as JSON). */
    private record Parts(Map<String, Types.Marker> markers, Map<String, JsonNode> plain) {}

    private Parts parts(Scriptable obj) {
        Map<String, Types.Marker> markers = new LinkedHashMap<>();
        Map<String, JsonNode> plain = new LinkedHashMap<>();
        for (Object id : obj.getIds()) {
            Object v = Args.get(obj, id);
            if (v instanceof Types.Marker m) markers.put(id.toString(), m);
            else if (!(v instanceof Undefined)) plain.put(id.toString(), modules.outgoing(v, "the value of " + id));
        }
        return new Parts(markers, plain);
    }

    private Object invoke(Fibril f, Context cx, Scriptable thisObj, Object[] args) {
        boolean explicit = Args.at(args, 0) instanceof CharSequence;
        String named = explicit ? space(args, 0, "fs.invoke") : null;
        Parts p = parts(Args.object(args, explicit ? 1 : 0, "fs.invoke: the invocation"));
        if (p.plain().isEmpty()) {
            throw ScriptRuntime.typeError("fs.invoke needs the object's key, e.g. fs.invoke({word: w, freq: Int.incr})");
        }
        // the hot path: the space is known, every op combines, no request, no wait
        SpaceInfo known = explicit ? dir.cachedNamed(named) : resolveCached(p.plain().keySet());
        if (known != null) {
            Map<String, JsonNode> sets = apply(f, known, p);
            if (sets.isEmpty()) return Undefined.instance;
            throw f.suspend(cx, "fs.invoke", () -> set(f, known, p, sets), (c, s, v) -> Undefined.instance);
        }
        CompletableFuture<SpaceInfo> where = explicit ? namedOrGuess(named, p) : resolve(p.plain().keySet());
        throw f.suspend(cx, "fs.invoke", () -> where.thenCompose(space -> {
            Map<String, JsonNode> sets = apply(f, space, p);
            return sets.isEmpty() ? CompletableFuture.completedFuture(null) : set(f, space, p, sets);
        }), (c, s, v) -> Undefined.instance);
    }

    private static final Pattern ATTR = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");

    /**
     * {@code fs.invokeAll(space, counts, attr)}: adds each {@code counts[key]} to {@code attr} of
     * object {@code key}, as {@code fs.invoke({key: k, attr: Int.incr(n)})} would for each key, in
     * one native call (no interpreted loop); the sums go to the node's combiner like any incr.
     * Answers the number of keys.
     */
    private Object invokeAll(Fibril f, Context cx, Scriptable thisObj, Object[] args) {
        String name = space(args, 0, "fs.invokeAll");
        Scriptable counts = Args.object(args, 1, "fs.invokeAll(space, counts, attr): counts");
        String attr = Args.string(args, 2, "fs.invokeAll(space, counts, attr): attr");
        if (!ATTR.matcher(attr).matches()) throw ScriptRuntime.typeError("fs.invokeAll: '" + attr + "' is not an attribute name");
        String[] keys;
        long[] deltas;
        if (counts instanceof CountsObject nc) {
            // jam.count's arrays as they are: words of ASCII letters, counts ≥ 1
            keys = nc.words();
            deltas = nc.counts();
            int size = nc.distinct();
            if (keys.length != size) {
                keys = java.util.Arrays.copyOf(keys, size);
                deltas = java.util.Arrays.copyOf(deltas, size);
            }
            for (String k : keys) {
                if (k.length() > MAX_KEY) throw ScriptRuntime.typeError("fs.invokeAll: a key must have 1 to " + MAX_KEY + " characters");
            }
        } else {
            Object[] ids = counts.getIds();
            keys = new String[ids.length];
            deltas = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                keys[i] = ids[i].toString();
                if (keys[i].isEmpty() || keys[i].length() > MAX_KEY) {
                    throw ScriptRuntime.typeError("fs.invokeAll: a key must have 1 to " + MAX_KEY + " characters");
                }
                double d = ScriptRuntime.toNumber(Args.get(counts, ids[i]));
                if (Double.isNaN(d) || Double.isInfinite(d) || d != Math.rint(d)) {
                    throw ScriptRuntime.typeError("fs.invokeAll: the count of '" + keys[i] + "' is not a whole number");
                }
                deltas[i] = (long) d;
            }
        }
        Double n = (double) keys.length;
        SpaceInfo known = dir.cachedNamed(name);
        if (known != null) {
            addAll(f, known, attr, keys, deltas);
            return n;
        }
        String[] ks = keys;
        long[] ds = deltas;
        throw f.suspend(cx, "fs.invokeAll", () -> dir.named(name).thenApply(space -> {
            if (space == null) throw ScriptRuntime.constructError("Error", "no space " + name + " (make it with fs.mkdir)");
            addAll(f, space, attr, ks, ds);
            return n;
        }), (c, s, v) -> v);
    }

    private void addAll(Fibril f, SpaceInfo space, String attr, String[] keys, long[] deltas) {
        if (attr.equals(space.key())) throw ScriptRuntime.typeError("fs.invokeAll: the key " + attr + " cannot be incremented");
        refusedBefore(f, space);
        f.noteEffect(combiner.addAll(f.caller(), space.name(), attr, keys, deltas), space.name());
    }

    /** Increments the store refused lately for this owner and space fail at once, as a catchable error. */
    private void refusedBefore(Fibril f, SpaceInfo space) {
        var refused = combiner.refusal(f.caller(), space.name());
        if (refused != null) {
            throw ScriptRuntime.constructError("Error", "fs: the store refuses increments on " + space.name() + " for "
                    + (f.caller() == null ? "this node" : f.caller().subject()) + " (" + refused.status() + "): " + refused.getMessage());
        }
    }

    /** Adds the markers to the combiner; answers the plain properties still to set. */
    private Map<String, JsonNode> apply(Fibril f, SpaceInfo space, Parts p) {
        String key = keyOf(space, p.plain());
        for (Map.Entry<String, Types.Marker> m : p.markers().entrySet()) {
            if (m.getKey().equals(space.key())) throw ScriptRuntime.typeError("fs.invoke: the key " + space.key() + " cannot be incremented");
            refusedBefore(f, space);
            f.noteEffect(combiner.add(f.caller(), space.name(), key, m.getKey(), m.getValue().delta()), space.name());
        }
        Map<String, JsonNode> sets = new LinkedHashMap<>(p.plain());
        sets.remove(space.key());
        return sets;
    }

    private CompletableFuture<?> set(Fibril f, SpaceInfo space, Parts p, Map<String, JsonNode> sets) {
        String key = keyOf(space, p.plain());
        ObjectNode batch = F.objectNode().put("batchId", f.id() + ":" + f.nextSeq());
        ObjectNode inv = batch.putArray("invocations").addObject().put("key", key);
        ObjectNode ops = inv.putObject("ops");
        sets.forEach((attr, value) -> ops.putObject(attr).put("op", "set").set("n", value));
        return combiner.awaitDurable(f.lastEffectGen()).thenCompose(v -> f.mantle().invoke(space.name(), batch));
    }

    private static String keyOf(SpaceInfo space, Map<String, JsonNode> plain) {
        JsonNode k = plain.get(space.key());
        if (k == null) throw ScriptRuntime.typeError("the object has no " + space.key() + " (the key of space " + space.name() + ")");
        String key;
        if (k.isTextual() || k.isNumber() || k.isBoolean()) key = k.asString();
        else throw ScriptRuntime.typeError("the key " + space.key() + " must be a string or a number");
        // checked here, not by the store: a refused key would cost a combined batch a bisection
        if (key.isEmpty() || key.length() > MAX_KEY) {
            throw ScriptRuntime.typeError("the key " + space.key() + " must have 1 to " + MAX_KEY + " characters");
        }
        return key;
    }

    /** The one space keyed by one of {@code attrs}, from the cache; null when not all are cached. */
    private SpaceInfo resolveCached(Iterable<String> attrs) {
        List<SpaceInfo> matches = new ArrayList<>();
        for (String a : attrs) {
            List<SpaceInfo> c = dir.cachedKeyedBy(a);
            if (c == null) return null;
            matches.addAll(c);
        }
        return exactlyOne(matches, attrs);
    }

    private CompletableFuture<SpaceInfo> resolve(Iterable<String> attrs) {
        List<CompletableFuture<List<SpaceInfo>>> lookups = new ArrayList<>();
        for (String a : attrs) lookups.add(dir.keyedBy(a));
        return CompletableFuture.allOf(lookups.toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<SpaceInfo> matches = new ArrayList<>();
            for (CompletableFuture<List<SpaceInfo>> l : lookups) matches.addAll(l.join());
            return exactlyOne(matches, attrs);
        });
    }

    private static SpaceInfo exactlyOne(List<SpaceInfo> matches, Iterable<String> attrs) {
        if (matches.size() == 1) return matches.get(0);
        if (matches.isEmpty()) {
            throw ScriptRuntime.constructError("Error", "no space is keyed by " + String.join(" or ", attrs)
                    + ": make one with fs.mkdir(name, {key: …}) or name the space: fs.invoke(space, obj)");
        }
        List<String> names = matches.stream().map(s -> s.name() + " (key " + s.key() + ")").toList();
        throw ScriptRuntime.constructError("Error", "ambiguous: spaces " + String.join(", ", names)
                + " all match; name the space: fs.invoke(space, obj)");
    }

    /** A named space's key attribute; if the store does not list it, the property "key", or the only one. */
    private CompletableFuture<SpaceInfo> namedOrGuess(String name, Parts p) {
        return dir.named(name).thenApply(s -> {
            if (s != null) return s;
            if (p.plain().containsKey("key")) return new SpaceInfo(name, "key");
            if (p.plain().size() == 1) return new SpaceInfo(name, p.plain().keySet().iterator().next());
            throw ScriptRuntime.constructError("Error", "no space " + name + " (make it with fs.mkdir)");
        });
    }

    // --- get, put, query ------------------------------------------------------------------

    /** Where an object lives: its space and its key. */
    private record Target(SpaceInfo space, String key) {}

    private Object get(Fibril f, Context cx, Scriptable thisObj, Object[] args) {
        CompletableFuture<Target> target;
        if (Args.at(args, 0) instanceof CharSequence) {
            String name = space(args, 0, "fs.get");
            String key = Args.key(Args.at(args, 1), "fs.get(space, key): key");
            target = dir.named(name).thenApply(s -> new Target(s != null ? s : new SpaceInfo(name, "key"), key));
        } else {
            Parts p = parts(Args.object(args, 0, "fs.get: the object"));
            if (p.plain().isEmpty()) throw ScriptRuntime.typeError("fs.get needs the object's key, e.g. fs.get({word: 'pi'})");
            SpaceInfo known = resolveCached(p.plain().keySet());
            CompletableFuture<SpaceInfo> where = known != null ? CompletableFuture.completedFuture(known) : resolve(p.plain().keySet());
            target = where.thenApply(s -> new Target(s, keyOf(s, p.plain())));
        }
        Target[] found = new Target[1];
        throw f.suspend(cx, "fs.get", () -> combiner.awaitAll().thenCompose(v -> target).thenCompose(t -> {
            found[0] = t;
            return f.mantle().getObject(t.space().name(), t.key());
        }), (c, scope, v) -> object(c, scope, found[0].space().key(), (JsonNode) v));
    }

    private Object put(Fibril f, Context cx, Scriptable thisObj, Object[] args) {
        String name = space(args, 0, "fs.put");
        String key = Args.key(Args.at(args, 1), "fs.put(space, key, attrs): key");
        ObjectNode write = F.objectNode();
        write.set("attrs", modules.outgoing(Args.object(args, 2, "fs.put(space, key, attrs): attrs"), "the attributes"));
        if (Args.given(args, 3)) write.set("labels", modules.outgoing(Args.object(args, 3, "fs.put labels"), "the labels"));
        SpaceInfo[] space = new SpaceInfo[1];
        throw f.suspend(cx, "fs.put", () -> combiner.awaitDurable(f.lastEffectGen())
                .thenCompose(v -> dir.named(name))
                .thenCompose(s -> {
                    space[0] = s != null ? s : new SpaceInfo(name, "key");
                    return f.mantle().putObject(name, key, write);
                }), (c, scope, v) -> v == null ? Undefined.instance : object(c, scope, space[0].key(), (JsonNode) v));
    }

    private Object query(Fibril f, Context cx, Scriptable thisObj, Object[] args) {
        String name = space(args, 0, "fs.query");
        List<Map.Entry<String, String>> params = new ArrayList<>();
        if (Args.given(args, 1)) {
            Scriptable q = Args.object(args, 1, "fs.query(space, query): query");
            for (Object id : q.getIds()) {
                String attr = id.toString();
                Object v = Args.get(q, id);
                if (v instanceof Scriptable cond && !(v instanceof Types.TypeObject)) {
                    for (Object opId : cond.getIds()) {
                        String op = switch (opId.toString()) {
                            case "gt" -> "gt";
                            case "ge", "gte" -> "ge";
                            case "lt" -> "lt";
                            case "le", "lte" -> "le";
                            case "ne" -> "ne";
                            case "eq" -> null;
                            default -> throw ScriptRuntime.typeError("fs.query: unknown condition " + opId + " on " + attr
                                    + " (there are gt, ge, lt, le, ne, eq)");
                        };
                        String value = Args.key(Args.get(cond, opId), "fs.query: " + attr + "." + opId);
                        params.add(new AbstractMap.SimpleEntry<>(op == null ? attr : attr + "." + op, value));
                    }
                } else {
                    params.add(new AbstractMap.SimpleEntry<>(attr, Args.key(v, "fs.query: " + attr)));
                }
            }
        }
        SpaceInfo[] space = new SpaceInfo[1];
        throw f.suspend(cx, "fs.query", () -> combiner.awaitAll()
                .thenCompose(v -> dir.named(name))
                .thenCompose(s -> {
                    space[0] = s != null ? s : new SpaceInfo(name, "key");
                    return f.mantle().query(name, params);
                }), (c, scope, v) -> {
                    JsonNode arr = (JsonNode) v;
                    List<Object> out = new ArrayList<>();
                    if (arr != null) for (JsonNode o : arr) out.add(object(c, scope, space[0].key(), o));
                    return c.newArray(scope, out.toArray());
                });
    }

    /** A stored object as scripts see it: the key under its attribute name, with the attributes beside. */
    private Object object(Context cx, Scriptable scope, String keyAttr, JsonNode stored) {
        if (stored == null || stored.isNull()) return null;
        Scriptable o = cx.newObject(scope);
        if (stored.has("key")) o.put(keyAttr, o, stored.get("key").asString());
        JsonNode attrs = stored.get("attrs");
        if (attrs != null) {
            for (Map.Entry<String, JsonNode> e : attrs.properties()) {
                if (!e.getKey().equals(keyAttr)) o.put(e.getKey(), o, modules.toJs(cx, scope, e.getValue()));
            }
        }
        return o;
    }
}
