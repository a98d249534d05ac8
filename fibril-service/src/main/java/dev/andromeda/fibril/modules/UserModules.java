package dev.andromeda.fibril.modules;

import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.fibril.nucleus.Fibril;
import dev.andromeda.fibril.nucleus.Nucleus;
import dev.andromeda.fibril.nucleus.Program;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.mozilla.javascript.Callable;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;

/**
 * {@code require('/code/<fingerprint>')} and {@code require('/code/<alias>')}: user modules stored
 * in the store under /code (an alias in naming may name one). The source is fetched once per node
 * and compiled like any fibril code (same sandbox, same size limit); each fibril gets its own
 * instance, made on its first require and kept for the next ones — a module's state is never
 * shared between fibrils, so it travels with a moving fibril like the rest of its state.
 *
 * <p>A module is CommonJS-like: its code sees {@code module}, {@code exports} and {@code require},
 * and what it leaves in {@code module.exports} is what require answers. Its top level runs inside
 * require, so it cannot wait (fetch, receive…): a module exports functions that do.
 */
final class UserModules {

    static final String PREFIX = "/code/";
    private static final Pattern FINGERPRINT = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern ALIAS = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");

    private final Modules modules;
    private final Nucleus nucleus;

    UserModules(Modules modules) {
        this.modules = modules;
        this.nucleus = modules.nucleus();
    }

    static boolean names(String name) {
        return name.startsWith(PREFIX);
    }

    /** The module's exports for this fibril: at once when known here, else after fetching its code. */
    Object require(Fibril f, Context cx, Scriptable require, String name) {
        String ref = name.substring(PREFIX.length());
        boolean byFingerprint = FINGERPRINT.matcher(ref).matches();
        if (!byFingerprint && !ALIAS.matcher(ref).matches()) {
            throw ScriptRuntime.typeError("require: '" + name + "' names no module: /code/ takes a fingerprint"
                    + " (64 lower-case hex digits) or an alias");
        }
        if (byFingerprint) {
            Object mine = f.locals().get(key(ref));
            if (mine != null) return mine;
            Program known = nucleus.cachedModule(ref);
            if (known != null) return instantiate(f, cx, require, known, name);
        }
        CompletableFuture<String> fp = byFingerprint ? CompletableFuture.completedFuture(ref) : resolve(f, ref);
        throw f.suspend(cx, "require('" + name + "')", () -> fp.thenCompose(p -> nucleus.module(p, f.mantle())),
                (c, scope, v) -> {
                    Program p = (Program) v;
                    Object mine = f.locals().get(key(p.fingerprint()));
                    return mine != null ? mine : instantiate(f, c, require, p, name);
                });
    }

    /** An alias in naming that names /code/{fingerprint}. */
    private CompletableFuture<String> resolve(Fibril f, String alias) {
        return f.mantle().alias(alias).thenApply(uri -> {
            if (uri == null) throw M31Problem.notFound("no module /code/" + alias + ": naming has no alias '" + alias + "'");
            if (!uri.startsWith(PREFIX) || !FINGERPRINT.matcher(uri.substring(PREFIX.length())).matches()) {
                throw M31Problem.badRequest("alias", "the alias " + alias + " names " + uri + ", not code (/code/{fingerprint})");
            }
            return uri.substring(PREFIX.length());
        });
    }

    private static String key(String fingerprint) {
        return "module:/code/" + fingerprint;
    }

    /** Runs the module's code for this fibril, once: its module.exports is the fibril's instance. */
    private Object instantiate(Fibril f, Context cx, Scriptable require, Program p, String name) {
        Scriptable scope = f.globalScope();
        Object fn = p.script().exec(cx, scope);
        if (!(fn instanceof Callable callable)) throw ScriptRuntime.typeError("require: " + name + " did not compile to a module");
        Scriptable module = modules.newObject(cx);
        Scriptable exports = modules.newObject(cx);
        module.put("exports", module, exports);
        module.put("id", module, PREFIX + p.fingerprint());
        f.usesModule(p);
        // set before the body runs, so a module that requires itself (a cycle) gets its exports so far
        f.locals().put(key(p.fingerprint()), exports);
        callable.call(cx, scope, scope, new Object[] {module, exports, require});
        Object out = module.get("exports", module);
        f.locals().put(key(p.fingerprint()), out);
        return out;
    }
}
