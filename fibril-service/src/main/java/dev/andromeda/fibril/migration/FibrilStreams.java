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

    /** A well-known symbol (Symbol.iterator…), by name. */
    record SymbolRef(String field) implements Serializable {
        @Serial private static final long serialVersionUID = 1L;
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
