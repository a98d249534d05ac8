package dev.andromeda.fibril.migration;

import java.io.IOException;
import java.io.InputStream;
import java.io.InvalidObjectException;
import java.io.ObjectInputFilter;
import java.io.OutputStream;
import java.io.Serial;
import java.io.Serializable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.SymbolKey;
import org.mozilla.javascript.serialize.ScriptableInputStream;
import org.mozilla.javascript.serialize.ScriptableOutputStream;

/**
 * The Java serialization of a fibril's continuation and scope, made safe to move:
 * <ul>
 * <li>objects the node shares ({@link SharedObjects}) are written as their name and read back as
 *     the receiving node's own;</li>
 * <li>compiled regular expressions (whose character classes do not serialize) are written as
 *     their source and flags and compiled again on arrival;</li>
 * <li>well-known symbols keep their identity;</li>
 * <li>reading goes through an {@link ObjectInputFilter} that admits only an allow-list of classes
 *     (Rhino's script objects, never its Java bridges; a few JDK value classes; our host objects),
 *     with limits on depth, references and bytes.</li>
 * </ul>
 */
public final class FibrilStreams {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FibrilStreams.class);

    private FibrilStreams() {}

    static {
        // Rhino 1.9 refuses Java serialization unless this is on; it is read once, so set it early.
        enableRhinoSerialization();
    }

    /** Turns on Rhino's Java serialization (a JVM-wide switch; nodes call it before the first packet). */
    public static void enableRhinoSerialization() {
        if (System.getProperty("rhino.serialization.enabled") == null) System.setProperty("rhino.serialization.enabled", "true");
    }

    /** A shared object, by name. */
    record SharedRef(String name) implements Serializable {
        @Serial private static final long serialVersionUID = 1L;
    }

    /** A compiled regular expression, by its literal. */
    record RegexRef(String source, int flags) implements Serializable {
        @Serial private static final long serialVersionUID = 1L;
    }

    /** A fibril's compiled program (its top-level script), by kind and fingerprint: compiled once per node. */
    public record ProgramRef(String kind, String fingerprint) implements Serializable {
        @Serial private static final long serialVersionUID = 1L;
    }

    /**
     * An object or array literal half built when its fibril stopped to wait ({@code {a: r.recv()}}):
     * Rhino keeps it in a {@code NewLiteralStorage} on the frame's stack, which is not
     * serializable; its fields are, so they travel and the store is made again from them.
     */
    static final class LiteralRef implements Serializable {
        @Serial private static final long serialVersionUID = 1L;
        // a class, not a record: its values may lead back to it (a getter's scope reaches the frame
        // that holds it), and a record is made only after its fields are read
        final boolean nameInference;
        final Object[] keys;
        final int[] getterSetters;
        final Object[] values;
        final int index;
        final int[] skipIndexes;
        final int[] spreadAdjustments;

        LiteralRef(boolean nameInference, Object[] keys, int[] getterSetters, Object[] values, int index,
                   int[] skipIndexes, int[] spreadAdjustments) {
            this.nameInference = nameInference;
            this.keys = keys;
            this.getterSetters = getterSetters;
            this.values = values;
            this.index = index;
            this.skipIndexes = skipIndexes;
            this.spreadAdjustments = spreadAdjustments;
        }
    }

    /**
     * A getter/setter property of a fibril's object ({@code get g() {…}}). Rhino writes such a
     * slot without its functions (they are transient there), so the property would arrive as a
     * plain undefined value; the functions travel here and the slot is made again from them.
     */
    static final class AccessorRef implements Serializable {
        @Serial private static final long serialVersionUID = 1L;
        final Object name;
        final int indexOrHash;
        final short attributes;
        final Object getter;
        final Object setter;

        AccessorRef(Object name, int indexOrHash, short attributes, Object getter, Object setter) {
            this.name = name;
            this.indexOrHash = indexOrHash;
            this.attributes = attributes;
            this.getter = getter;
            this.setter = setter;
        }
    }

    /**
     * A Java exception in a fibril's state: an Error object keeps the one that made it (its
     * {@code stack} comes from it), and a frame's stack can still hold one it caught. Java
     * exceptions are not on the allow-list (nor should every cause they chain be), so one travels
     * as its message and comes back as a plain Rhino exception: the Error's name, message and
     * properties are its own and travel as they are; only its Java-side stack is left behind.
     */
    record ErrorRef(String message) implements Serializable {
        @Serial private static final long serialVersionUID = 1L;
    }

    /** A well-known symbol (Symbol.iterator…), by name. */
    record SymbolRef(String field) implements Serializable {
        @Serial private static final long serialVersionUID = 1L;
    }

    private static final Class<?> LITERAL_STORAGE;
    private static final Class<?> LITERAL_NAME_INFERENCE;
    private static final Map<Boolean, java.lang.reflect.Constructor<?>> LITERAL_MAKERS = new HashMap<>();
    private static final Map<String, Field> LITERAL_FIELDS = new HashMap<>();

    static {
        try {
            LITERAL_STORAGE = Class.forName("org.mozilla.javascript.NewLiteralStorage");
            LITERAL_NAME_INFERENCE = Class.forName("org.mozilla.javascript.NewLiteralStorage$NameInference");
            Class<?> plain = Class.forName("org.mozilla.javascript.NewLiteralStorage$NoInference");
            for (Class<?> c : new Class<?>[] {LITERAL_NAME_INFERENCE, plain}) {
                java.lang.reflect.Constructor<?> k = c.getDeclaredConstructor(Object[].class, int.class, boolean.class);
                k.setAccessible(true);
                LITERAL_MAKERS.put(c == LITERAL_NAME_INFERENCE, k);
            }
            for (String name : new String[] {"keys", "getterSetters", "values", "index", "skipIndexes", "spreadAdjustments"}) {
                Field f = LITERAL_STORAGE.getDeclaredField(name);
                f.setAccessible(true);
                LITERAL_FIELDS.put(name, f);
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this Rhino has no NewLiteralStorage as the nucleus knows it", e);
        }
    }

    private static final Class<?> ACCESSOR_SLOT;
    private static final java.lang.reflect.Constructor<?> ACCESSOR_MAKER;
    private static final java.lang.reflect.Constructor<?> FUNCTION_GETTER;
    private static final java.lang.reflect.Constructor<?> FUNCTION_SETTER;
    private static final Field SLOT_NAME;
    private static final Field SLOT_INDEX;
    private static final Field SLOT_ATTRIBUTES;
    private static final Field ACCESSOR_GETTER;
    private static final Field ACCESSOR_SETTER;
    private static final Field GETTER_TARGET;
    private static final Field SETTER_TARGET;

    static {
        try {
            ACCESSOR_SLOT = Class.forName("org.mozilla.javascript.AccessorSlot");
            ACCESSOR_MAKER = accessible(ACCESSOR_SLOT.getDeclaredConstructor(Object.class, int.class));
            Class<?> getter = Class.forName("org.mozilla.javascript.AccessorSlot$FunctionGetter");
            Class<?> setter = Class.forName("org.mozilla.javascript.AccessorSlot$FunctionSetter");
            FUNCTION_GETTER = accessible(getter.getDeclaredConstructor(Object.class));
            FUNCTION_SETTER = accessible(setter.getDeclaredConstructor(Object.class));
            Class<?> slot = Class.forName("org.mozilla.javascript.Slot");
            SLOT_NAME = accessible(slot.getDeclaredField("name"));
            SLOT_INDEX = accessible(slot.getDeclaredField("indexOrHash"));
            SLOT_ATTRIBUTES = accessible(slot.getDeclaredField("attributes"));
            ACCESSOR_GETTER = accessible(ACCESSOR_SLOT.getDeclaredField("getter"));
            ACCESSOR_SETTER = accessible(ACCESSOR_SLOT.getDeclaredField("setter"));
            GETTER_TARGET = accessible(getter.getDeclaredField("target"));
            SETTER_TARGET = accessible(setter.getDeclaredField("target"));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this Rhino has no AccessorSlot as the nucleus knows it", e);
        }
    }

    private static <T extends java.lang.reflect.AccessibleObject> T accessible(T member) {
        member.setAccessible(true);
        return member;
    }

    /** Only accessors made by scripts (JS functions) belong to a fibril; built-ins' are shared and travel by name. */
    static AccessorRef accessor(Object slot) throws IOException {
        try {
            Object g = ACCESSOR_GETTER.get(slot);
            Object s = ACCESSOR_SETTER.get(slot);
            if ((g != null && g.getClass() != FUNCTION_GETTER.getDeclaringClass())
                    || (s != null && s.getClass() != FUNCTION_SETTER.getDeclaringClass())) {
                throw new java.io.NotSerializableException("an accessor backed by Java (" + SLOT_NAME.get(slot) + ")");
            }
            return new AccessorRef(SLOT_NAME.get(slot), SLOT_INDEX.getInt(slot), SLOT_ATTRIBUTES.getShort(slot),
                    g == null ? null : GETTER_TARGET.get(g), s == null ? null : SETTER_TARGET.get(s));
        } catch (IllegalAccessException e) {
            throw new IOException(e);
        }
    }

    static Object accessor(AccessorRef r) throws IOException {
        try {
            Object slot = ACCESSOR_MAKER.newInstance(r.name, r.indexOrHash);
            SLOT_ATTRIBUTES.setShort(slot, r.attributes);
            if (r.getter != null) ACCESSOR_GETTER.set(slot, FUNCTION_GETTER.newInstance(r.getter));
            if (r.setter != null) ACCESSOR_SETTER.set(slot, FUNCTION_SETTER.newInstance(r.setter));
            return slot;
        } catch (ReflectiveOperationException e) {
            throw new InvalidObjectException("cannot make an accessor property again: " + e);
        }
    }

    static LiteralRef literal(Object storage) throws IOException {
        try {
            return new LiteralRef(storage.getClass() == LITERAL_NAME_INFERENCE,
                    (Object[]) LITERAL_FIELDS.get("keys").get(storage), (int[]) LITERAL_FIELDS.get("getterSetters").get(storage),
                    (Object[]) LITERAL_FIELDS.get("values").get(storage), LITERAL_FIELDS.get("index").getInt(storage),
                    (int[]) LITERAL_FIELDS.get("skipIndexes").get(storage), (int[]) LITERAL_FIELDS.get("spreadAdjustments").get(storage));
        } catch (IllegalAccessException e) {
            throw new IOException(e);
        }
    }

    static Object literal(LiteralRef r) throws IOException {
        try {
            Object s = LITERAL_MAKERS.get(r.nameInference).newInstance(null, 0, false);
            LITERAL_FIELDS.get("keys").set(s, r.keys);
            LITERAL_FIELDS.get("getterSetters").set(s, r.getterSetters);
            LITERAL_FIELDS.get("values").set(s, r.values);
            LITERAL_FIELDS.get("index").setInt(s, r.index);
            LITERAL_FIELDS.get("skipIndexes").set(s, r.skipIndexes);
            LITERAL_FIELDS.get("spreadAdjustments").set(s, r.spreadAdjustments);
            return s;
        } catch (ReflectiveOperationException e) {
            throw new InvalidObjectException("cannot make a literal's store again: " + e);
        }
    }

    private static final Map<Object, String> WELL_KNOWN = new IdentityHashMap<>();
    private static final Map<String, SymbolKey> WELL_KNOWN_BY_NAME = new HashMap<>();
    private static final Class<?> RE_COMPILED;
    private static final Field RE_SOURCE;
    private static final Field RE_FLAGS;
    private static final Method COMPILE_RE;

    static {
        for (Field f : SymbolKey.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == SymbolKey.class) {
                try {
                    SymbolKey k = (SymbolKey) f.get(null);
                    WELL_KNOWN.put(k, f.getName());
                    WELL_KNOWN_BY_NAME.put(f.getName(), k);
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        try {
            RE_COMPILED = Class.forName("org.mozilla.javascript.regexp.RECompiled");
            RE_SOURCE = RE_COMPILED.getDeclaredField("source");
            RE_SOURCE.setAccessible(true);
            RE_FLAGS = RE_COMPILED.getDeclaredField("flags");
            RE_FLAGS.setAccessible(true);
            Class<?> nre = Class.forName("org.mozilla.javascript.regexp.NativeRegExp");
            COMPILE_RE = nre.getDeclaredMethod("compileRE", Context.class, String.class, String.class, boolean.class);
            COMPILE_RE.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this Rhino has no RECompiled as the nucleus knows it", e);
        }
    }

    /** Writes a fibril's object graph; {@code scope} is the node's library scope. */
    public static final class Out extends ScriptableOutputStream {
        private final SharedObjects shared;
        private final Map<Object, ProgramRef> programs;

        /** {@code programs}: compiled scripts (not serializable in Rhino 1.9) that travel by name. */
        public Out(OutputStream out, Scriptable scope, SharedObjects shared, Map<Object, ProgramRef> programs) throws IOException {
            super(out, scope);
            this.shared = shared;
            this.programs = programs;
        }

        @Override
        protected Object replaceObject(Object obj) throws IOException {
            String name = shared.nameOf(obj);
            if (name != null) return new SharedRef(name);
            ProgramRef program = programs.get(obj);
            if (program != null) return program;
            if (obj != null && obj.getClass() == RE_COMPILED) {
                try {
                    return new RegexRef(new String((char[]) RE_SOURCE.get(obj)), RE_FLAGS.getInt(obj));
                } catch (IllegalAccessException e) {
                    throw new IOException(e);
                }
            }
            String symbol = WELL_KNOWN.get(obj);
            if (symbol != null) return new SymbolRef(symbol);
            if (obj != null && LITERAL_STORAGE.isInstance(obj)) return literal(obj);
            if (obj != null && obj.getClass() == ACCESSOR_SLOT) return accessor(obj);
            // The compiler leaves the tree node of a literal with computed keys in the compiled
            // code's literal table; that literal is built from keys pushed at run time and never
            // reads its entry, so the node travels as nothing (it is not serializable)
            if (obj instanceof org.mozilla.javascript.Node) return null;
            if (obj instanceof Throwable t) {
                return new ErrorRef(t instanceof org.mozilla.javascript.RhinoException re ? re.details() : String.valueOf(t.getMessage()));
            }
            return super.replaceObject(obj);
        }
    }

    /** Reads a fibril's object graph into the receiving node, through the allow-list. */
    public static final class In extends ScriptableInputStream {
        private final SharedObjects shared;
        private final java.util.function.Function<ProgramRef, Object> programs;

        public In(InputStream in, Scriptable scope, SharedObjects shared, long maxBytes,
                  java.util.function.Function<ProgramRef, Object> programs) throws IOException {
            super(in, scope);
            this.shared = shared;
            this.programs = programs;
            setObjectInputFilter(filter(maxBytes));
        }

        @Override
        protected Object resolveObject(Object obj) throws IOException {
            if (obj instanceof SharedRef r) {
                Object o = shared.byName(r.name());
                if (o == null) throw new InvalidObjectException("this node has no shared object " + r.name());
                return o;
            }
            if (obj instanceof RegexRef r) return compile(r);
            if (obj instanceof LiteralRef r) return literal(r);
            if (obj instanceof AccessorRef r) return accessor(r);
            if (obj instanceof ErrorRef r) return new org.mozilla.javascript.EvaluatorException(r.message());
            if (obj instanceof ProgramRef p) {
                Object script = programs.apply(p);
                if (script == null) throw new InvalidObjectException("no program " + p.fingerprint() + " here");
                return script;
            }
            if (obj instanceof SymbolRef r) {
                SymbolKey k = WELL_KNOWN_BY_NAME.get(r.field());
                if (k == null) throw new InvalidObjectException("no well-known symbol " + r.field());
                return k;
            }
            return super.resolveObject(obj);
        }

        private static Object compile(RegexRef r) throws IOException {
            StringBuilder flags = new StringBuilder();
            if ((r.flags() & 1) != 0) flags.append('g');
            if ((r.flags() & 2) != 0) flags.append('i');
            if ((r.flags() & 4) != 0) flags.append('m');
            if ((r.flags() & 8) != 0) flags.append('s');
            if ((r.flags() & 16) != 0) flags.append('y');
            if ((r.flags() & 32) != 0) flags.append('u');
            try {
                return COMPILE_RE.invoke(null, Context.getCurrentContext(), r.source(), flags.toString(), false);
            } catch (ReflectiveOperationException e) {
                throw new InvalidObjectException("cannot compile /" + r.source() + "/" + flags + " again: " + e);
            }
        }
    }

    // --- the allow-list ---------------------------------------------------------------------

    private static final Set<String> JDK = Set.of(
            "java.lang.Object", "java.lang.String", "java.lang.Boolean", "java.lang.Character", "java.lang.Number",
            "java.lang.Byte", "java.lang.Short", "java.lang.Integer", "java.lang.Long", "java.lang.Float", "java.lang.Double",
            "java.lang.Enum", "java.math.BigInteger", "java.math.BigDecimal",
            // Rhino's slots hold serializable method references; a SerializedLambda is rebuilt by its
            // capturing class, which is itself checked against this list (only Rhino's pass)
            "java.lang.invoke.SerializedLambda",
            "java.util.HashMap", "java.util.LinkedHashMap", "java.util.ArrayList", "java.util.HashSet",
            "java.util.LinkedHashSet", "java.util.TreeMap", "java.util.ArrayDeque", "java.util.Collections$EmptyMap",
            "java.util.Collections$EmptyList", "java.util.Collections$EmptySet", "java.util.concurrent.ConcurrentHashMap",
            "java.util.Collections$UnmodifiableList", "java.util.Collections$UnmodifiableRandomAccessList",
            "java.util.Collections$UnmodifiableCollection", "java.util.Collections$UnmodifiableMap",
            "java.util.Collections$UnmodifiableSet", "java.util.Collections$SingletonList", "java.util.Collections$SingletonMap",
            "java.util.Collections$SingletonSet", "java.util.CollSer", "java.util.ImmutableCollections$ListN",
            "java.util.ImmutableCollections$List12", "java.util.ImmutableCollections$MapN", "java.util.ImmutableCollections$Map1",
            "java.util.ImmutableCollections$SetN", "java.util.ImmutableCollections$Set12", "java.util.Map$Entry",
            "java.util.AbstractMap$SimpleEntry", "java.util.AbstractMap$SimpleImmutableEntry", "java.util.EnumMap",
            "java.util.IdentityHashMap", "java.util.WeakHashMap", "java.util.LinkedList", "java.util.BitSet",
            "java.util.concurrent.ConcurrentHashMap$Segment", "java.util.concurrent.locks.ReentrantLock",
            "java.util.concurrent.locks.ReentrantLock$Sync", "java.util.concurrent.locks.ReentrantLock$NonfairSync",
            "java.util.concurrent.locks.AbstractQueuedSynchronizer",
            "java.util.concurrent.locks.AbstractOwnableSynchronizer");

    private static final Set<String> OURS = Set.of(
            SharedRef.class.getName(), RegexRef.class.getName(), SymbolRef.class.getName(), ProgramRef.class.getName(),
            LiteralRef.class.getName(), AccessorRef.class.getName(), ErrorRef.class.getName(),
            "dev.andromeda.fibril.modules.Endpoint", "dev.andromeda.fibril.modules.TextObject",
            "dev.andromeda.fibril.modules.BytesObject", "dev.andromeda.fibril.modules.CountsObject", "dev.andromeda.fibril.modules.HttpModule$ResponseObject",
            "dev.andromeda.fibril.modules.HttpModule$Fetched", "dev.andromeda.fibril.modules.Types$Marker",
            "dev.andromeda.fibril.modules.Types$TypeObject",
            "dev.andromeda.fibril.modules.ChanModule$RecvAgain", "dev.andromeda.fibril.modules.ChanModule$SendAgain",
            "dev.andromeda.fibril.modules.ChanModule$Inbox", "dev.andromeda.fibril.modules.SysModule$SleepUntil");

    /** Rhino's bridges to Java (reflection, adapters, class loading): never read from a packet. */
    private static final String[] RHINO_DENIED = {
            "org.mozilla.javascript.NativeJava", "org.mozilla.javascript.JavaAdapter", "org.mozilla.javascript.MemberBox",
            "org.mozilla.javascript.JavaMembers", "org.mozilla.javascript.FieldAndMethods", "org.mozilla.javascript.BeanProperty",
            "org.mozilla.javascript.ClassCache", "org.mozilla.javascript.FunctionObject", "org.mozilla.javascript.ImporterTopLevel",
            "org.mozilla.javascript.LazilyLoadedCtor", "org.mozilla.javascript.Synchronizer",
            "org.mozilla.javascript.DefiningClassLoader", "org.mozilla.javascript.PolicySecurityController",
            "org.mozilla.javascript.SecureCaller", "org.mozilla.javascript.GeneratedClassLoader",
            "org.mozilla.javascript.ContextFactory", "org.mozilla.javascript.Context",
    };

    /** True when a class may appear in a packet. */
    public static boolean allowed(Class<?> c) {
        while (c.isArray()) c = c.getComponentType();
        if (c.isPrimitive()) return true;
        String n = c.getName();
        if (JDK.contains(n) || OURS.contains(n)) return true;
        if (n.startsWith("org.mozilla.javascript.")) {
            String rest = n.substring("org.mozilla.javascript.".length());
            // the core package and regexp only: no tools, commonjs, xml, optimizer, serialize
            if (rest.contains(".") && !rest.startsWith("regexp.")) return false;
            for (String d : RHINO_DENIED) if (n.equals(d) || n.startsWith(d)) return false;
            return true;
        }
        return false;
    }

    static ObjectInputFilter filter(long maxBytes) {
        return info -> {
            if (info.depth() > 5000 || info.references() > 10_000_000 || info.streamBytes() > maxBytes) {
                return ObjectInputFilter.Status.REJECTED;
            }
            Class<?> c = info.serialClass();
            if (c == null) return ObjectInputFilter.Status.UNDECIDED;
            if (allowed(c)) return ObjectInputFilter.Status.ALLOWED;
            LOG.warn("migration packet refused: class {} is not on the allow-list", c.getName());
            return ObjectInputFilter.Status.REJECTED;
        };
    }
}
