package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.nucleus.HostFunction;
import dev.andromeda.fibril.nucleus.Fibril;
import dev.andromeda.fibril.nucleus.Nucleus;
import dev.andromeda.fibril.sandbox.FibrilExit;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.mozilla.javascript.Callable;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.NativeArray;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import org.mozilla.javascript.Undefined;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code sys}: spawn, self, sleep, yield, exit, evaluate, and the fibril's args, env (read-only) and
 * parent endpoints. The functions are shared; the object holding them and the fibril's own
 * values is made once per fibril, on its first {@code require('sys')}.
 */
final class SysModule {

    static final String SUCCESS = "SUCCESS";

    private final Modules modules;
    private final ScriptableObject functions;
    private final BackgroundSpawns spawns;
    /** Spare channels for spawns, per identity spawned for ("" for the node itself). */
    private final java.util.Map<Object, SpawnChannels> supplies = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(java.util.Map.Entry<Object, SpawnChannels> eldest) { return size() > 256; }
            });

    SysModule(Modules modules, Context cx, Scriptable shared) {
        this.modules = modules;
        Nucleus nucleus = modules.nucleus();
        functions = modules.module(cx);
        spawns = new BackgroundSpawns(nucleus);

        modules.suspending(cx, functions, "spawn", 3, (f, c, thisObj, args) -> {
            Object fn = Args.at(args, 0);
            if (!(fn instanceof Callable)) throw ScriptRuntime.typeError("sys.spawn(fn, args, opts): fn must be a function");
            String source = ScriptRuntime.toString(fn);
            if (source.contains("[native code]")) {
                throw ScriptRuntime.typeError("sys.spawn: only a function written in JS can be spawned, not a built-in");
            }
            if (!Args.given(args, 1)) args = new Object[] {fn, c.newArray(shared, 0), Args.at(args, 2)};
            if (!(args[1] instanceof NativeArray)) throw ScriptRuntime.typeError("sys.spawn(fn, args, opts): args must be an array");
            ArrayNode childArgs = (ArrayNode) modules.outgoing(args[1], "the spawn arguments");
            ObjectNode req = JsonNodeFactory.instance.objectNode();
            req.put("kind", "function");
            req.set("args", childArgs);
            req.set("env", f.env() == null ? JsonNodeFactory.instance.objectNode() : f.env());
            req.put("parent", f.id());
            if (Args.given(args, 2)) {
                Scriptable opts = Args.object(args, 2, "sys.spawn opts");
                Object node = ScriptableObject.getProperty(opts, "node");
                if (node instanceof CharSequence s) req.put("node", s.toString());
                Object constellation = ScriptableObject.getProperty(opts, "constellation");
                if (constellation instanceof CharSequence s) req.put("constellation", s.toString());
                if (ScriptableObject.getProperty(opts, "anchor") == Boolean.TRUE) req.put("anchor", true);
                Object wallClock = ScriptableObject.getProperty(opts, "wallClock");
                if (wallClock instanceof Number n) {
                    double s = n.doubleValue();
                    if (s != Math.rint(s) || s < 1) throw ScriptRuntime.typeError("sys.spawn opts: wallClock is a whole number of seconds, at least 1");
                    req.put("wallClock", (long) s);
                } else if (wallClock != Scriptable.NOT_FOUND && wallClock != Undefined.instance) {
                    throw ScriptRuntime.typeError("sys.spawn opts: wallClock is a number of seconds");
                }
            }
            String src = source;
            SpawnChannels supply = channels(f);
            CompletableFuture<String> code = nucleus.storeCode(src);
            Mantle.Opened[] ready = code.isDone() && !code.isCompletedExceptionally() ? supply.readyPair() : null;
            if (ready != null) {
                // nothing to wait for: no trip through the run queue behind the node's busy fibrils
                req.put("fingerprint", code.join());
                spawns.start(f, withChannels(req, ready), ready[1]);
                return endpoints(c, f.globalScope(), ready);
            }
            // the fibril waits for its child's endpoints only; placing and starting the child go on
            // in the background (as Erlang's spawn answers at once), so a crawl's spawns overlap
            throw f.suspend(c, "sys.spawn", () -> code.thenCombine(supply.pair(), (fp, chs) -> {
                req.put("fingerprint", fp);
                spawns.start(f, withChannels(req, chs), chs[1]);
                return chs;
            }), (cx2, scope, v) -> endpoints(cx2, scope, (Mantle.Opened[]) v));
        });

        modules.function(cx, functions, "self", 0, (f, c, thisObj, args) -> {
            Scriptable o = modules.newObject(c);
            o.put("id", o, f.id());
            o.put("node", o, nucleus.node());
            return o;
        });

        // performance.now() of the browser: milliseconds with a fraction, from this node's monotonic
        // clock; for timing within one node (it is not comparable across nodes)
        modules.function(cx, functions, "clock", 0, (f, c, thisObj, args) -> System.nanoTime() / 1e6);

        modules.suspending(cx, functions, "sleep", 1, (f, c, thisObj, args) -> {
            double ms = ScriptRuntime.toNumber(Args.at(args, 0));
            // a sleep past the wall clock ends in its failure: the timer is capped (nothing waits
            // for years), a second beyond the limit, so that the wall clock's timer always fires
            // first. Capped at the limit itself, a sleep begun within a millisecond of the spawn
            // could be due first (its end is kept in epoch millis) and the fibril ended DONE
            long delay = Double.isNaN(ms) || ms < 0 ? 0 : (long) Math.min(ms, f.wallClockLimit().toMillis() + 1000);
            SleepUntil until = new SleepUntil(System.currentTimeMillis() + delay);
            throw f.suspend(c, "sys.sleep", () -> until.timer(nucleus), UNDEFINED, until);
        });

        // moving: the fibril asks for itself what PUT /fibrils/{id}/node and POST …/clone ask from outside
        modules.suspending(cx, functions, "migrate", 1, (f, c, thisObj, args) -> {
            String node = Args.string(args, 0, "sys.migrate(node): node");
            if (node.equals(nucleus.node())) return Undefined.instance;
            if (f.anchored()) throw ScriptRuntime.constructError("Error", "sys.migrate: this fibril is anchored to node " + nucleus.node());
            nucleus.checkNode(node);
            f.requestOwnTransfer(false, node, null);
            throw f.suspend(c, "sys.migrate", () -> CompletableFuture.completedFuture(null), UNDEFINED);
        });
        modules.suspending(cx, functions, "clone", 1, (f, c, thisObj, args) -> {
            String node = Args.given(args, 0) ? Args.string(args, 0, "sys.clone(node): node") : nucleus.node();
            nucleus.checkNode(node);
            f.requestOwnTransfer(true, node, dev.andromeda.common.id.Ids.newId(dev.andromeda.common.id.Ids.FIBRIL));
            throw f.suspend(c, "sys.clone", () -> CompletableFuture.completedFuture(null), UNDEFINED);
        });
        modules.function(cx, functions, "anchor", 1, (f, c, thisObj, args) -> {
            boolean on = !Args.given(args, 0) || ScriptRuntime.toBoolean(args[0]);
            f.anchor(on);
            return on;
        });

        modules.suspending(cx, functions, "yield", 0, (f, c, thisObj, args) -> {
            throw f.suspend(c, "sys.yield", () -> CompletableFuture.completedFuture(null), (cx2, scope, v) -> Undefined.instance);
        });

        modules.function(cx, functions, "exit", 1, (f, c, thisObj, args) -> {
            throw new FibrilExit(Args.at(args, 0));
        });
        functions.defineProperty("evaluate", evaluator(cx, shared, modules.nucleus().settings().getMaxSourceBytes()),
                ScriptableObject.READONLY | ScriptableObject.PERMANENT);
        functions.sealObject();
    }

    /**
     * {@code sys.evaluate(src)}: runs a script's text in the fibril's global scope and answers its
     * value (see {@link Snippets}); what the REPL runs every line with. The compiled snippet is
     * called from an interpreted wrapper, not from Java, so it may wait and move like any code of
     * the fibril. It runs in the fibril's sandbox and counts against its instruction budget. Not
     * named eval: Rhino compiles every call of a function so named as a possible direct eval,
     * made from Java, and under a Java frame the snippet could not wait.
     */
    private static org.mozilla.javascript.Function evaluator(Context cx, Scriptable shared, int maxSourceBytes) {
        HostFunction compile = new HostFunction(cx, shared, "compile", 1, (f, c, thisObj, args) -> {
            String src = Args.string(args, 0, "sys.evaluate(src): src");
            if (src.length() > maxSourceBytes) {
                throw ScriptRuntime.rangeError("sys.evaluate: the source is " + src.length() + " characters; the limit is " + maxSourceBytes);
            }
            return Snippets.compile(c, f.globalScope(), src);
        });
        compile.sealObject();
        // a plain call (not Function.prototype.call, a built-in a fibril cannot wait under): the
        // snippet's `this` is then the fibril's global scope, as a script's is
        org.mozilla.javascript.Function factory = (org.mozilla.javascript.Function) cx.evaluateString(shared,
                "(function (compile) { return function evaluate(src) { var snippet = compile(src); return snippet(); }; })",
                "<nucleus>", 1, null);
        org.mozilla.javascript.Function evaluate = (org.mozilla.javascript.Function) factory.call(cx, shared, shared, new Object[] {compile});
        if (evaluate instanceof ScriptableObject so) so.sealObject();
        return evaluate;
    }

    private static final dev.andromeda.fibril.nucleus.Suspension.ToJs UNDEFINED = (cx, scope, v) -> Undefined.instance;

    /** A sleep, as it travels with a moving fibril: it ends at the same time wherever the fibril is. */
    record SleepUntil(long epochMillis) implements dev.andromeda.fibril.nucleus.Suspension.Restart {
        CompletableFuture<Object> timer(Nucleus nucleus) {
            CompletableFuture<Object> done = new CompletableFuture<>();
            long left = Math.max(0, epochMillis - System.currentTimeMillis());
            nucleus.timers().schedule(() -> done.complete(null), left, TimeUnit.MILLISECONDS);
            return done;
        }

        @Override
        public dev.andromeda.fibril.nucleus.Suspension start(Nucleus nucleus, Fibril f) {
            return new dev.andromeda.fibril.nucleus.Suspension("sys.sleep", timer(nucleus), UNDEFINED, true, this);
        }
    }

    ScriptableObject functions() { return functions; }

    /** The child gets only its own ends' capabilities: recv on the channel to it, send on the one from it. */
    private static ObjectNode withChannels(ObjectNode req, Mantle.Opened[] chs) {
        return req.put("toChild", chs[0].id()).put("fromChild", chs[1].id())
                .put("toChildCap", chs[0].recvCap()).put("fromChildCap", chs[1].sendCap());
    }

    /** The parent's ends: send to the child, receive from it. */
    private Object endpoints(Context cx, Scriptable scope, Mantle.Opened[] chs) {
        return cx.newArray(scope, new Object[] {modules.endpoint(chs[0].id(), "send", chs[0].sendCap()),
                modules.endpoint(chs[1].id(), "recv", chs[1].recvCap())});
    }

    private SpawnChannels channels(Fibril f) {
        Object who = f.caller() == null ? "" : f.caller();
        return supplies.computeIfAbsent(who, k -> new SpawnChannels(f.mantle()));
    }

    /**
     * Spawn requests on their way to the scheduler, at most {@value #PARALLEL} at a time per node (a
     * spawn's latency is mostly waiting on the scheduler, the target node, naming and the store).
     * A spawn that fails is told to the parent where it waits for the child's report: as
     * {@code {"err": …}} on the child's channel (the child never started, so nothing else writes
     * there); a parent that reads {@code st.err} sees it as it would see the child fail.
     */
    static final class BackgroundSpawns {
        static final int PARALLEL = 32;
        private final Nucleus nucleus;
        private final java.util.ArrayDeque<Runnable> queue = new java.util.ArrayDeque<>();
        private int running;

        BackgroundSpawns(Nucleus nucleus) { this.nucleus = nucleus; }

        void start(Fibril parent, ObjectNode req, Mantle.Opened fromChild) {
            Mantle mantle = parent.mantle();
            String parentId = parent.id();
            enqueue(() -> mantle.spawn(req).whenComplete((answer, e) -> {
                done();
                if (e == null) return;
                ObjectNode err = JsonNodeFactory.instance.objectNode().put("err", "sys.spawn: " + Fibril.describe(e));
                nucleus.retry(() -> mantle.send(fromChild.id(), fromChild.sendCap(), err, parentId + ":spawn:" + fromChild.id(), 0), 10, 200)
                        .exceptionally(lost -> {
                            org.slf4j.LoggerFactory.getLogger(SysModule.class).warn(
                                    "fibril {}: a spawn failed ({}) and its parent could not be told: {}",
                                    parentId, Fibril.describe(e), Fibril.describe(lost));
                            return null;
                        });
            }));
        }

        private void enqueue(Runnable r) {
            synchronized (this) {
                if (running >= PARALLEL) {
                    queue.addLast(r);
                    return;
                }
                running++;
            }
            run(r);
        }

        private void done() {
            Runnable next;
            synchronized (this) {
                next = queue.pollFirst();
                if (next == null) {
                    running--;
                    return;
                }
            }
            run(next);
        }

        private void run(Runnable r) {
            try {
                r.run();
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(SysModule.class).error("a background spawn could not start", e);
                done();
            }
        }
    }

    /** The sys object of one fibril. */
    Scriptable forFibril(Context cx, Fibril f) {
        ScriptableObject sys = modules.module(cx);
        sys.setPrototype(functions);
        int ro = ScriptableObject.READONLY | ScriptableObject.PERMANENT;
        sys.defineProperty("SUCCESS", SUCCESS, ro);
        Object args = f.args() == null ? cx.newArray(sys, 0) : modules.toJs(cx, sys, f.args());
        sys.defineProperty("args", args, ro);
        Object env = f.env() == null ? modules.newObject(cx) : modules.toJs(cx, sys, f.env());
        sys.defineProperty("env", deepFreeze(env), ro);
        Object parent = null;
        if (f.fromChild() != null && f.toChild() != null) {
            Scriptable p = modules.newObject(cx);
            p.put("send", p, modules.endpoint(f.fromChild(), "send", f.fromChildCap()));
            p.put("recv", p, modules.endpoint(f.toChild(), "recv", f.toChildCap()));
            ((ScriptableObject) p).sealObject();
            parent = p;
        }
        sys.defineProperty("parent", parent, ro);
        sys.sealObject();
        return sys;
    }

    /** The inherited environment is read-only all the way down. */
    private static Object deepFreeze(Object v) {
        if (v instanceof ScriptableObject o && !(v instanceof Endpoint)) {
            for (Object id : o.getIds()) deepFreeze(Args.get(o, id));
            o.sealObject();
        }
        return v;
    }
}
