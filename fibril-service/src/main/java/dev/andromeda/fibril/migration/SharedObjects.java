package dev.andromeda.fibril.migration;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.Map;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import org.mozilla.javascript.Symbol;

/**
 * Every object a node shares between its fibrils — the sealed standard library, the built-in
 * modules and their functions, the nucleus's shims — each with a name that is the same on every
 * node (its first path from the library scope, breadth first). A migration packet refers to
 * these by name and the receiving node puts its own in their place: the standard library never
 * travels, and a moved fibril's {@code Array.prototype} is the new node's.
 */
public final class SharedObjects {

    private final Map<Object, String> names = new IdentityHashMap<>();
    private final Map<String, Object> objects = new HashMap<>();
    private final String fingerprint;

    private SharedObjects(Context cx, Scriptable root, Map<String, ? extends Scriptable> more) {
        ArrayDeque<Object[]> queue = new ArrayDeque<>();
        queue.add(new Object[] {root, "lib"});
        more.forEach((n, o) -> queue.add(new Object[] {o, "module:" + n}));
        MessageDigest md = sha256();
        // Object.getOwnPropertyDescriptor: reads data and accessor properties without running getters
        org.mozilla.javascript.Function gopd = (org.mozilla.javascript.Function) ScriptableObject.getProperty(
                (Scriptable) ScriptableObject.getProperty(root, "Object"), "getOwnPropertyDescriptor");
        while (!queue.isEmpty()) {
            Object[] next = queue.poll();
            Object obj = next[0];
            String name = (String) next[1];
            if (!(obj instanceof Scriptable s) || names.containsKey(obj)) continue;
            names.put(obj, name);
            objects.put(name, obj);
            md.update(name.getBytes(StandardCharsets.UTF_8));
            md.update((byte) '\n');
            queue.add(new Object[] {s.getPrototype(), name + ".[[proto]]"});
            queue.add(new Object[] {s.getParentScope(), name + ".[[scope]]"});
            if (!(s instanceof ScriptableObject so)) continue;
            Object[] ids;
            try {
                ids = so.getAllIds();
            } catch (RuntimeException e) {
                continue;
            }
            for (Object id : ids) {
                if (id instanceof Symbol) continue;
                String key = String.valueOf(id);
                Scriptable desc;
                try {
                    Object d = gopd.call(cx, root, root, new Object[] {so, id});
                    if (!(d instanceof Scriptable ds)) continue;
                    desc = ds;
                } catch (RuntimeException e) {
                    continue;
                }
                for (String part : new String[] {"value", "get", "set"}) {
                    Object v = ScriptableObject.getProperty(desc, part);
                    if (v instanceof Scriptable) {
                        queue.add(new Object[] {v, name + "." + key + (part.equals("value") ? "" : "#" + part)});
                    }
                }
            }
        }
        this.fingerprint = HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }

    /** Walks everything reachable from {@code root} (its prototype chain, scopes and properties). */
    public static SharedObjects of(Context cx, Scriptable root, Map<String, ? extends Scriptable> more) {
        return new SharedObjects(cx, root, more);
    }

    /** The shared name of {@code o}, or null when it belongs to a fibril. */
    public String nameOf(Object o) { return names.get(o); }

    public Object byName(String name) { return objects.get(name); }

    public int size() { return objects.size(); }

    /** Two nodes can exchange fibrils only when their shared objects have the same names. */
    public String fingerprint() { return fingerprint; }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
