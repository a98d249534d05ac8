package dev.andromeda.fibril.nucleus;

import dev.andromeda.common.id.Ids;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Caller;
import dev.andromeda.fibril.effects.EffectCombiner;
import dev.andromeda.fibril.json.JsJson;
import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.migration.FibrilStreams;
import dev.andromeda.fibril.migration.PacketKey;
import dev.andromeda.fibril.migration.SharedObjects;
import dev.andromeda.fibril.modules.Modules;
import dev.andromeda.fibril.sandbox.FibrilExit;
import dev.andromeda.fibril.sandbox.FibrilStop;
import dev.andromeda.fibril.sandbox.SandboxContextFactory;
import dev.andromeda.fibril.sandbox.SharedScope;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.mozilla.javascript.Callable;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ContinuationPending;
import org.mozilla.javascript.EvaluatorException;
import org.mozilla.javascript.RhinoException;
import org.mozilla.javascript.Script;
import org.mozilla.javascript.ScriptableObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The nucleus of one node: its fibrils, the carriers that run them, and the run queue.
 *
 * <p>A fibril runs on a carrier until it waits; then its continuation is parked with the
 * operation it waits for and the carrier takes the next fibril in line. When the operation
 * completes, the fibril goes to the tail of the run queue (the carriers' FIFO queue) and a
 * carrier resumes it. Nothing blocks a carrier: a parked fibril is a continuation and a future.
 */
public final class Nucleus implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Nucleus.class);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final String node;
    private final FibrilSettings settings;
    private final Mantle mantle;
    private final EffectCombiner combiner;
    private final SandboxContextFactory factory;
    private final ScriptableObject shared;
    private final Shims shims;
    private final Modules modules;
    private final ThreadPoolExecutor carriers;
    private final ScheduledExecutorService timers;
    private final CodeCache code = new CodeCache();
    private final Map<String, CompletableFuture<String>> storedCode = new ConcurrentHashMap<>();
    private final Map<String, Fibril> live = new ConcurrentHashMap<>();
    private final Map<String, Fibril> ended;
    /** Fibrils that moved away: id → where they went (their URI answers 404 here, so the gateway resolves again). */
    private final Map<String, String> moved;
    private final Transfers transfers;

    static {
        FibrilStreams.enableRhinoSerialization();
    }

    /** A nucleus whose migration packets are signed with {@code m31.fibril.packet-key} (or a per-process key). */
    public Nucleus(String node, FibrilSettings settings, Mantle mantle, EffectCombiner combiner) {
        this(node, settings, mantle, combiner, PacketKey.resolve(settings.getPacketKey(), null));
    }

    public Nucleus(String node, FibrilSettings settings, Mantle mantle, EffectCombiner combiner, PacketKey packetKey) {
        this.node = node;
        this.settings = settings;
        this.mantle = mantle;
        this.combiner = combiner;
        this.factory = new SandboxContextFactory(settings.getMaxStackDepth());
        int keep = settings.getKeepEnded();
        this.ended = new LinkedHashMap<>(256, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Fibril> eldest) { return size() > keep; }
        };
        this.moved = java.util.Collections.synchronizedMap(new LinkedHashMap<>(256, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, String> eldest) { return size() > keep; }
        });
        try (Context cx = factory.enterContext()) {
            ScriptableObject s = SharedScope.create(cx);
            this.shims = new Shims(cx, s);
            this.modules = new Modules(this, cx, s);
            s.sealObject();
            this.shared = s;
            this.transfers = new Transfers(this, SharedObjects.of(cx, s, modules.sharedRoots()), packetKey);
        }
        if (packetKey.processLocal()) {
            log.warn("node {}: no m31.fibril.packet-key (nor m31.auth.secret): migration packets are signed with a random key,"
                    + " so fibrils can move only between nodes of this process", node);
        }
        AtomicInteger n = new AtomicInteger();
        int count = settings.carrierCount();
        // a big stack: callbacks from built-ins (sort, forEach) recurse on the Java stack
        this.carriers = new ThreadPoolExecutor(count, count, 60, TimeUnit.SECONDS, new java.util.concurrent.PriorityBlockingQueue<>(),
                r -> daemon(new Thread(null, r, "fibril-" + node + "-carrier-" + n.incrementAndGet(), 16L << 20)));
        this.timers = Executors.newScheduledThreadPool(1, r -> daemon(new Thread(r, "fibril-" + node + "-timer")));
        combiner.pacedWhile(() -> carriers.getActiveCount() > 0 || !carriers.getQueue().isEmpty());
    }

    private static Thread daemon(Thread t) {
        t.setDaemon(true);
        return t;
    }

    public String node() { return node; }
    public FibrilSettings settings() { return settings; }
    public Mantle mantle() { return mantle; }
    public EffectCombiner combiner() { return combiner; }
    public ScheduledExecutorService timers() { return timers; }
    public Shims shims() { return shims; }
    public Modules modules() { return modules; }
    SandboxContextFactory factory() { return factory; }
    /** The node's sealed library scope (the standard objects and the modules), every fibril's prototype. */
    ScriptableObject library() { return shared; }
    Transfers transfers() { return transfers; }

    // --- spawning -----------------------------------------------------------------------

    /**
     * Compiles (a syntax error is a 400 naming the line and column), binds the new fibril in
     * naming so its URI routes here, and queues it. Runs on a request thread.
     */
    public Fibril spawn(SpawnSpec spec) {
        return spawn(spec, false);
    }

    /**
     * As {@link #spawn(SpawnSpec)}; {@code anchored} pins the fibril here. Its spawn packet is
     * checkpointed in the store (and a script's source stored under /code) before it is queued
     * and the spawn acknowledged, so that it can be started again elsewhere.
     */
    public Fibril spawn(SpawnSpec spec, boolean anchored) {
        return spawn(spec, anchored, null);
    }

    /**
     * As above, for {@code caller} (who signed the spawn request; null: the node itself): the
     * fibril acts with that identity in every call it makes, and so do its children.
     */
    public Fibril spawn(SpawnSpec spec, boolean anchored, Caller caller) {
        Program program = load(spec);
        if (spec.wallClock() != null && (spec.wallClock().compareTo(settings.getMaxWallClock()) > 0 || spec.wallClock().isNegative()
                || spec.wallClock().isZero())) {
            throw M31Problem.badRequest("wallClock", "a fibril here may live 1 s to " + settings.getMaxWallClock().toSeconds()
                    + " s (m31.fibril.max-wall-clock), not " + spec.wallClock().toSeconds() + " s");
        }
        checkSize("args", spec.args());
        checkSize("env", spec.env());
        if (spec.parent() != null) Ids.require(spec.parent(), Ids.FIBRIL, "parent");
        if (spec.toChild() != null) Ids.require(spec.toChild(), Ids.CHANNEL, "toChild");
        if (spec.fromChild() != null) Ids.require(spec.fromChild(), Ids.CHANNEL, "fromChild");
        Fibril f = new Fibril(Ids.newId(Ids.FIBRIL), this, program, spec,
                settings.getTimeSlice().toNanos(), settings.getMaxInstructions());
        f.anchor(anchored);
        f.actFor(caller);
        // naming and the store are asked at once: a spawn waits for the slower, not for both in turn
        CompletableFuture<Void> binding = mantle.bind(f.id(), "fibril");
        checkpointSpawn(f, spec);
        live.put(f.id(), f);
        bind(f, binding);
        armWallClock(f);
        submit(f);
        return f;
    }

    private void bind(Fibril f, CompletableFuture<Void> binding) {
        try {
            binding.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // the fibril runs anyway (its parent hears from it over a channel); only routing
            // GET /fibrils/{id} to it waits for naming, so keep trying in the background
            log.warn("fibril {}: binding in naming failed ({}), retrying in the background", f.id(), Fibril.describe(e));
            retry(() -> mantle.bind(f.id(), "fibril"), 10, 500);
        }
    }

    private void checkpointSpawn(Fibril f, SpawnSpec spec) {
        if (!settings.isCheckpoints()) return;
        ObjectNode packet = F.objectNode();
        packet.put("kind", f.program().kind().name()).put("fingerprint", f.program().fingerprint());
        packet.set("args", f.args());
        packet.set("env", f.env());
        if (f.caller() != null) packet.set("caller", Fibril.callerJson(f.caller()));
        packet.put("parent", f.parent()).put("toChild", f.toChild()).put("fromChild", f.fromChild())
                .put("toChildCap", f.toChildCap()).put("fromChildCap", f.fromChildCap()).put("anchored", f.anchored())
                .put("created", f.created().toEpochMilli()).put("wallClock", f.wallClockLimit().toMillis());
        // a script sent as source is stored under /code too, so the checkpoint names all it needs
        CompletableFuture<?> code = spec.source() != null ? storeCode(spec.source()) : CompletableFuture.completedFuture(null);
        try {
            CompletableFuture.allOf(code, transfers.checkpoint(f.id(), "spawned", node, 0, packet)).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw M31Problem.unavailable("cannot checkpoint the spawn in the store: " + Fibril.describe(e));
        }
    }

    private void checkSize(String field, JsonNode value) {
        if (value != null && value.toString().length() > settings.getMaxMessageBytes()) {
            throw M31Problem.tooLarge(field, field + " is larger than " + settings.getMaxMessageBytes() + " bytes");
        }
    }

    private Program load(SpawnSpec spec) {
        String source = spec.source();
        String field = "source";
        if (source == null) {
            if (spec.fingerprint() == null) throw M31Problem.badRequest("source", "give the program: source or fingerprint");
            if (!spec.fingerprint().matches("[0-9a-f]{64}")) {
                throw M31Problem.badRequest("fingerprint", "a fingerprint is the sha256 of the source in lower-case hex");
            }
            Program cached = code.get(spec.kind(), spec.fingerprint());
            if (cached != null) return cached;
            source = fetchCode(spec.fingerprint());
            field = "fingerprint";
        }
        if (source.getBytes(StandardCharsets.UTF_8).length > settings.getMaxSourceBytes()) {
            throw M31Problem.tooLarge(field, "the source is larger than " + settings.getMaxSourceBytes() + " bytes");
        }
        String fp = CodeCache.fingerprint(source);
        if (spec.fingerprint() != null && !spec.fingerprint().equals(fp)) {
            throw M31Problem.badRequest("fingerprint", "the source does not match the fingerprint " + spec.fingerprint());
        }
        Program cached = code.get(spec.kind(), fp);
        if (cached != null) return cached;
        Program p = compile(spec.kind(), source, fp, field);
        code.put(p);
        return p;
    }

    private String fetchCode(String fp) {
        try {
            return mantle.getCode(fp).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            Throwable t = Fibril.unwrap(e);
            if (t instanceof M31Problem p && p.status() == 404) {
                throw M31Problem.badRequest("fingerprint", "no code is stored under " + fp);
            }
            throw M31Problem.unavailable("cannot fetch code " + fp + " from the store: " + Fibril.describe(t));
        }
    }

    private Program compile(Program.Kind kind, String source, String fp, String field) {
        String name = kind == Program.Kind.SCRIPT ? "script" : "code/" + fp.substring(0, 12);
        try (Context cx = factory.enterContext()) {
            // a function travels as its own text; in parentheses it is an expression whose value is the function;
            // a module's text goes on the wrapper's first line, so its line numbers stay its own
            String text = switch (kind) {
                case SCRIPT -> source;
                case FUNCTION -> "(" + source + "\n)";
                case MODULE -> MODULE_HEAD + source + "\n})";
            };
            Script script = cx.compileString(text, name, 1, null);
            return new Program(kind, fp, script, source);
        } catch (EvaluatorException e) {
            int col = e.columnNumber();
            if (kind == Program.Kind.FUNCTION && e.lineNumber() == 1 && col > 0) col--;
            if (kind == Program.Kind.MODULE && e.lineNumber() == 1) col = Math.max(0, col - MODULE_HEAD.length());
            String near = e.lineSource() == null ? "" : ": " + abbreviate(e.lineSource().strip());
            throw M31Problem.badRequest(field, "syntax error at line " + e.lineNumber() + ", column " + col
                    + ": " + e.details() + near);
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 120 ? s.substring(0, 120) + "…" : s;
    }

    private static final String MODULE_HEAD = "(function (module, exports, require) {";

    /** A user module compiled on this node, or null. */
    public Program cachedModule(String fingerprint) {
        return code.get(Program.Kind.MODULE, fingerprint);
    }

    /**
     * A user module by fingerprint: compiled once per node, its source fetched from /code through
     * {@code via} (the fibril's mantle). Fails with a 404 problem when nothing is stored there, a
     * 400 naming line and column for a syntax error, a 413 past the source limit.
     */
    public CompletableFuture<Program> module(String fingerprint, Mantle via) {
        Program known = cachedModule(fingerprint);
        if (known != null) return CompletableFuture.completedFuture(known);
        return via.getCode(fingerprint).handle((source, e) -> {
            if (e != null) {
                Throwable t = Fibril.unwrap(e);
                if (t instanceof M31Problem p && p.status() == 404) {
                    throw M31Problem.notFound("no module /code/" + fingerprint + ": nothing is stored under that fingerprint");
                }
                throw t instanceof RuntimeException re ? re : new java.util.concurrent.CompletionException(t);
            }
            return moduleFrom(fingerprint, source);
        });
    }

    private Program moduleFrom(String fingerprint, String source) {
        if (source.getBytes(StandardCharsets.UTF_8).length > settings.getMaxSourceBytes()) {
            throw M31Problem.tooLarge("source", "module /code/" + fingerprint + " is larger than " + settings.getMaxSourceBytes() + " bytes");
        }
        if (!CodeCache.fingerprint(source).equals(fingerprint)) {
            throw M31Problem.badRequest("fingerprint", "the store answered code that does not match /code/" + fingerprint);
        }
        Program known = cachedModule(fingerprint);
        if (known != null) return known;
        Program p = compile(Program.Kind.MODULE, source, fingerprint, "module /code/" + fingerprint);
        code.put(p);
        return p;
    }

    /** A module a moving fibril arrives with: the node's compiled one, fetched now if need be (a request thread). */
    Program moduleNow(String fingerprint) {
        try {
            return module(fingerprint, mantle).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw M31Problem.unavailable("cannot load module /code/" + fingerprint + " for an arriving fibril: " + Fibril.describe(e));
        }
    }

    /** Stores a function's source under /code once per node; completes with its fingerprint. */
    public CompletableFuture<String> storeCode(String source) {
        String fp = CodeCache.fingerprint(source);
        CompletableFuture<String> f = storedCode.computeIfAbsent(fp, k -> mantle.putCode(source).thenApply(stored -> fp));
        // a failure is not cached: the next spawn tries again
        f.whenComplete((v, e) -> { if (e != null) storedCode.remove(fp, f); });
        return f;
    }

    // --- running ------------------------------------------------------------------------

    /** The compiled program of a fibril that arrives with its source (compiled once per node, as for a spawn). */
    Program program(Program.Kind kind, String fingerprint, String source) {
        Program p = code.get(kind, fingerprint);
        if (p != null) return p;
        if (source == null) throw M31Problem.badRequest("header", "the packet carries no source for code " + fingerprint);
        return load(new SpawnSpec(kind, source, fingerprint, null, null, null, null, null));
    }

    void submit(Fibril f) {
        try {
            carriers.execute(new Slice(f, f.brisk(), sliceOrder.incrementAndGet()));
        } catch (RejectedExecutionException shuttingDown) {
            log.debug("node {} is shutting down: {} not run", node, f.id());
        }
    }

    private final java.util.concurrent.atomic.AtomicLong sliceOrder = new java.util.concurrent.atomic.AtomicLong();

    /**
     * A turn on a carrier. The run queue has two levels, FIFO within each: fibrils whose last
     * slice was short (they mostly wait: a crawler spawning children, a receiver, a new fibril)
     * go before fibrils that compute (a book being counted holds a carrier for tens of ms in one
     * native call), so the ones that feed the others are not stuck behind them. A brisk fibril
     * that starts computing is demoted by its next slice, so compute-bound ones are not starved
     * for longer than the brisk ones' short slices.
     */
    private final class Slice implements Runnable, Comparable<Slice> {
        final Fibril f;
        final boolean brisk;
        final long order;

        Slice(Fibril f, boolean brisk, long order) {
            this.f = f;
            this.brisk = brisk;
            this.order = order;
        }

        @Override public void run() { runSlice(f); }

        @Override
        public int compareTo(Slice o) {
            if (brisk != o.brisk) return brisk ? -1 : 1;
            return Long.compare(order, o.order);
        }
    }

    private void runSlice(Fibril f) {
        Fibril.Begin begin = f.beginSlice();
        switch (begin) {
            case SKIP -> { return; }
            case STOP -> { end(f, f.stopRequest()); return; }
            case RUN, TRANSFER -> { }
        }
        try (Context cx = factory.enterContext()) {
            cx.putThreadLocal(SandboxContextFactory.METER_KEY, f);
            f.startSlice();
            if (begin == Fibril.Begin.TRANSFER) {
                try {
                    transfers.carry(f, cx);
                } catch (RuntimeException | StackOverflowError e) {
                    log.error("fibril {}: transfer failed inside the nucleus", f.id(), e);
                    fail(f, "internal error while moving the fibril: " + e);
                } finally {
                    cx.removeThreadLocal(SandboxContextFactory.METER_KEY);
                }
                return;
            }
            try {
                Object result = step(f, cx);
                complete(f, result);
            } catch (ContinuationPending p) {
                f.endSlice();
                Suspension s = (Suspension) p.getApplicationState();
                if (f.park(p.getContinuation(), s)) {
                    s.future().whenComplete((v, e) -> { if (f.wake(s)) submit(f); });
                } else {
                    end(f, f.stopRequest());
                }
            } catch (FibrilExit exit) {
                complete(f, exit.value());
            } catch (FibrilStop stop) {
                end(f, stop);
            } catch (RhinoException e) {
                fail(f, withHint(f, e, Fibril.describe(e)));
            } catch (StackOverflowError e) {
                fail(f, "stack depth exceeded (the Java stack overflowed in a callback of a built-in)");
            } catch (RuntimeException e) {
                log.error("fibril {} failed inside the nucleus", f.id(), e);
                fail(f, "internal error in the nucleus: " + e);
            } finally {
                cx.removeThreadLocal(SandboxContextFactory.METER_KEY);
            }
        }
    }

    private static final java.util.regex.Pattern MODULE_NOT_DEFINED =
            java.util.regex.Pattern.compile("\"(sys|fs|chan|http|jam)\" is not defined");

    /**
     * A spawned function is shipped as its source and runs in a scope of its own: what its parent
     * defined — even the sys of the REPL — is not there. Say so where it bites.
     */
    private static String withHint(Fibril f, RhinoException e, String described) {
        if (f.program().kind() != Program.Kind.FUNCTION || !(e instanceof org.mozilla.javascript.EcmaError ee)
                || !"ReferenceError".equals(ee.getName()) || ee.details() == null) return described;
        var m = MODULE_NOT_DEFINED.matcher(ee.details());
        if (!m.find()) return described;
        return described + "\n(a spawned function brings nothing from its parent's scope: require('" + m.group(1)
                + "') inside it, or pass what it needs in its args)";
    }

    private Object step(Fibril f, Context cx) {
        if (f.scope == null) {
            if (f.program().script() == null) throw new IllegalStateException("fibril " + f.id() + " has no code to start from");
            f.scope = SharedScope.newGlobal(cx, shared);
            Program p = f.program();
            if (p.kind() == Program.Kind.SCRIPT) {
                return cx.executeScriptWithContinuations(p.script(), f.scope);
            }
            Object fn = p.script().exec(cx, f.scope);
            if (!(fn instanceof Callable callable)) {
                throw org.mozilla.javascript.ScriptRuntime.constructError("TypeError",
                        "the code of a function fibril must be a function expression");
            }
            Object[] args = new Object[f.args() == null ? 0 : f.args().size()];
            for (int i = 0; i < args.length; i++) args[i] = modules.toJs(cx, f.scope, f.args().get(i));
            return cx.callFunctionWithContinuations(callable, f.scope, args);
        }
        Suspension s = f.suspension;
        Object cont = f.continuation;
        f.suspension = null;
        f.continuation = null;
        Object value;
        try {
            value = s.toJs().apply(cx, f.scope, s.future().join());
        } catch (RuntimeException e) {
            if (!s.errorsToScript()) throw e;
            Throwable t = Fibril.unwrap(e);
            f.setPendingError(s.what() + ": " + (t instanceof CancellationException ? "cancelled" : Fibril.describe(t)));
            value = shims.mark();
        }
        return cx.resumeContinuation(cont, f.scope, value);
    }

    private void complete(Fibril f, Object value) {
        JsonNode result;
        try {
            result = JsJson.toJson(value);
        } catch (JsJson.NotJson e) {
            fail(f, "the result cannot be sent as JSON: " + e.getMessage());
            return;
        }
        int size = result.toString().length();
        if (size > settings.getMaxResultBytes()) {
            fail(f, "result too large: " + size + " bytes, the limit is " + settings.getMaxResultBytes());
            return;
        }
        finish(f, Fibril.State.DONE, result, null);
    }

    private void fail(Fibril f, String error) {
        finish(f, Fibril.State.FAILED, null, error);
    }

    private void end(Fibril f, FibrilStop stop) {
        finish(f, stop.killed() ? Fibril.State.KILLED : Fibril.State.FAILED, null, stop.getMessage());
    }

    /**
     * The end of a fibril: first its store effects and its channel sends are made durable, then its parent hears
     * {"ok": result} or {"err": message}, then it is reported ended. A parent that reads the
     * message and then queries the store sees every effect of the child.
     */
    private void finish(Fibril f, Fibril.State finalState, JsonNode result, String finalError) {
        f.ending();
        // a fibril whose combined increments the store refused (its owner may not write there)
        // has not done what it said: it ends FAILED with the store's reason, never DONE
        Fibril.State[] state = {finalState};
        String[] error = {finalError};
        Fibril.Transfer t = f.endTransfer();
        if (t != null) t.outcome().completeExceptionally(M31Problem.conflict("fibril " + f.id() + " ended before it could move"));
        if (f.wallClock != null) f.wallClock.cancel(false);
        CompletableFuture<?> reported = combiner.awaitDurable(f.lastEffectGen()).exceptionally(e -> {
            log.error("fibril {}: its effects may not be durable: {}", f.id(), Fibril.describe(e));
            return null;
        }).thenApply(v -> {
            for (String space : f.combinedSpaces()) {
                M31Problem refused = combiner.refusal(f.caller(), space);
                if (refused != null && state[0] == Fibril.State.DONE) {
                    state[0] = Fibril.State.FAILED;
                    error[0] = "the store refused this fibril's increments on " + space + " (" + refused.status() + "): " + refused.getMessage();
                }
            }
            return v;
        }).thenCompose(v -> modules.sendsDurable(f).exceptionally(e -> {
            // a send it went on from was refused after all: like a refused increment, it did not do what it said
            if (state[0] == Fibril.State.DONE) {
                state[0] = Fibril.State.FAILED;
                error[0] = Fibril.describe(e);
            }
            return null;
        })).thenCompose(v -> modules.settle(f).exceptionally(e -> {
            log.warn("fibril {}: what it received could not be acknowledged: {}", f.id(), Fibril.describe(e));
            return null;
        })).thenCompose(v -> {
            if (f.fromChild() == null) return CompletableFuture.completedFuture(null);
            ObjectNode msg = F.objectNode();
            if (state[0] == Fibril.State.DONE) msg.set("ok", result);
            else msg.put("err", error[0]);
            // a clone reports on its original's channel: the parent can tell the two reports apart
            if (f.cloneOf() != null) msg.put("clone", f.id()).put("cloneOf", f.cloneOf());
            return retry(() -> f.mantle().send(f.fromChild(), f.fromChildCap(), msg, f.id() + ":end", 0), 10, 200);
        });
        reported.whenComplete((v, e) -> {
            if (e != null) log.warn("fibril {}: could not tell its parent it ended: {}", f.id(), Fibril.describe(e));
            f.ended(state[0], state[0] == Fibril.State.DONE ? result : null, error[0]);
            transfers.ended(f, state[0]);
            live.remove(f.id());
            synchronized (ended) {
                ended.put(f.id(), f);
            }
            modules.forget(f);
            f.end().complete(f);
        });
    }

    /** Retries an idempotent operation with growing pauses; fails with the last error. */
    public <T> CompletableFuture<T> retry(Supplier<CompletableFuture<T>> op, int attempts, long firstPauseMs) {
        CompletableFuture<T> out = new CompletableFuture<>();
        attempt(op, attempts, firstPauseMs, out);
        return out;
    }

    private <T> void attempt(Supplier<CompletableFuture<T>> op, int left, long pause, CompletableFuture<T> out) {
        CompletableFuture<T> f;
        try {
            f = op.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((v, e) -> {
            if (e == null) {
                out.complete(v);
            } else if (left <= 1 || timers.isShutdown() || isClientError(e)) {
                out.completeExceptionally(Fibril.unwrap(e));
            } else {
                timers.schedule(() -> attempt(op, left - 1, Math.min(pause * 2, 5000), out), pause, TimeUnit.MILLISECONDS);
            }
        });
    }

    private static boolean isClientError(Throwable e) {
        return Fibril.unwrap(e) instanceof M31Problem p && p.status() >= 400 && p.status() < 500 && p.status() != 408;
    }

    // --- transfers ----------------------------------------------------------------------

    /** Parks a fibril again after a transfer that left it here, and wakes it when its wait is over. */
    void repark(Fibril f, Object cont, Suspension s) {
        if (f.park(cont, s)) {
            s.future().whenComplete((v, e) -> { if (f.wake(s)) submit(f); });
        } else {
            end(f, f.stopRequest());
        }
    }

    /** Takes in a fibril that arrived: it resumes with {@code s} (its value, or its wait started again). */
    void adopt(Fibril f, Object cont, Suspension s) {
        moved.remove(f.id());
        live.put(f.id(), f);
        armWallClock(f);
        repark(f, cont, s);
    }

    /** Ends the fibril when its wall clock runs out: counted from its birth, wherever it lived since. */
    private void armWallClock(Fibril f) {
        long left = f.wallClockLimit().toMillis() - (System.currentTimeMillis() - f.created().toEpochMilli());
        f.wallClock = timers.schedule(() -> stop(f, new FibrilStop("wall-clock limit exceeded (" + f.wallClockLimit()
                + ")", false)), Math.max(0, left), TimeUnit.MILLISECONDS);
    }

    /** The fibril now runs on {@code target}: forget it here but where it went. */
    void movedAway(Fibril f, String target) {
        if (f.wallClock != null) f.wallClock.cancel(false);
        f.moved(target);
        // a later generation that already came back here (Transfers.accept) stays live, unmarked
        if (live.remove(f.id(), f)) moved.put(f.id(), target);
    }

    /** Moves a fibril to {@code target} at its next suspension point; completes with it as the target reports it. */
    public CompletableFuture<JsonNode> migrate(String id, String target) {
        return transfers.request(require(id), Fibril.Transfer.Kind.MOVE, target);
    }

    /** Forks a fibril onto {@code target} at its next suspension point; completes with the clone. */
    public CompletableFuture<JsonNode> cloneTo(String id, String target) {
        return transfers.request(require(id), Fibril.Transfer.Kind.CLONE, target);
    }

    /** sys.migrate / sys.clone: checks the node exists (404 as a JS error) before the fibril asks. */
    public void checkNode(String target) {
        transfers.checkNode(target);
    }

    /** Adopts a signed packet from another node. */
    public Fibril receive(String header, String state, String sig) {
        return transfers.accept(header, state, sig);
    }

    /** Where a fibril that was here went, or null. */
    public String movedTo(String id) { return moved.get(id); }

    private Fibril require(String id) {
        Fibril f = live.get(id);
        if (f != null) return f;
        String to = moved.get(id);
        if (to != null) throw M31Problem.notFound("fibril " + id + " moved to node " + to);
        if (find(id).isPresent()) throw M31Problem.conflict("fibril " + id + " has ended");
        throw M31Problem.notFound("no fibril " + id + " on node " + node);
    }

    /** The shared-object registry (tests, benchmarks). */
    public int sharedObjects() { return transfers.shared().size(); }

    // --- control ------------------------------------------------------------------------

    public Optional<Fibril> find(String id) {
        Fibril f = live.get(id);
        if (f != null && f.state() != Fibril.State.MOVED) return Optional.of(f);
        synchronized (ended) {
            return Optional.ofNullable(ended.get(id));
        }
    }

    /** Kills a fibril, parked or running; an ended one stays as it ended. */
    public Fibril kill(String id) {
        Fibril f = find(id).orElseThrow(() -> M31Problem.notFound("no fibril " + id + " on node " + node));
        stop(f, new FibrilStop("killed", true));
        return f;
    }

    private void stop(Fibril f, FibrilStop stop) {
        if (f.requestStop(stop)) end(f, stop);
    }

    /** Fibrils not ended yet, oldest first. */
    public List<Fibril> live() {
        List<Fibril> out = new ArrayList<>(live.values());
        out.sort(Comparator.comparing(Fibril::created).thenComparing(Fibril::id));
        return out;
    }

    public int running() { return live.size(); }

    /** Every fibril this node knows: the live ones, then the ended ones it keeps, oldest first. */
    public List<Fibril> all() {
        List<Fibril> out = live();
        synchronized (ended) {
            List<Fibril> done = new ArrayList<>(ended.values());
            done.sort(Comparator.comparing(Fibril::created).thenComparing(Fibril::id));
            out.addAll(done);
        }
        return out;
    }

    /** Converts JSON to a JS value in a fibril's scope, with endpoints made live. */
    public Object toJs(Context cx, org.mozilla.javascript.Scriptable scope, JsonNode value) {
        return modules.toJs(cx, scope, value);
    }

    @Override
    public void close() {
        carriers.shutdownNow();
        timers.shutdownNow();
        try {
            carriers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
