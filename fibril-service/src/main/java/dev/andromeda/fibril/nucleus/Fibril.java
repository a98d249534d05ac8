package dev.andromeda.fibril.nucleus;

import dev.andromeda.fibril.sandbox.FibrilStop;
import dev.andromeda.fibril.sandbox.SandboxContextFactory;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Caller;
import dev.andromeda.fibril.mantle.Mantle;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ContinuationPending;
import org.mozilla.javascript.RhinoException;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.ScriptableObject;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * One fibril: its code, its global scope, and, while parked, its continuation and what it waits
 * for. It is touched by one thread at a time: a carrier while it runs, the completing thread of
 * its operation while it is parked; its state moves under its own monitor.
 */
public final class Fibril implements SandboxContextFactory.Meter {

    public enum State { RUNNABLE, RUNNING, PARKED, MOVING, ENDING, DONE, FAILED, KILLED, MOVED;
        public boolean ended() { return this == DONE || this == FAILED || this == KILLED; }
    }

    /** A move or a clone asked of this fibril, carried out at its next suspension point. */
    public static final class Transfer {
        public enum Kind { MOVE, CLONE }

        final Kind kind;
        final String node;
        /** Asked by the fibril itself (sys.migrate / sys.clone): its outcome is the script's. */
        final boolean fromScript;
        /** The clone's id, chosen up front so the requester can name it. */
        final String cloneId;
        /** Completes with the fibril (moved) or the clone as the target node reports it. */
        final CompletableFuture<JsonNode> outcome = new CompletableFuture<>();

        Transfer(Kind kind, String node, boolean fromScript, String cloneId) {
            this.kind = kind;
            this.node = node;
            this.fromScript = fromScript;
            this.cloneId = cloneId;
        }

        public Kind kind() { return kind; }
        public String node() { return node; }
        public String cloneId() { return cloneId; }
        public CompletableFuture<JsonNode> outcome() { return outcome; }
    }

    private final String id;
    private final Nucleus nucleus;
    private final Program program;
    private final ArrayNode args;
    private final ObjectNode env;
    private final String parent;
    private final String toChild;
    private final String fromChild;
    private final String toChildCap;
    private final String fromChildCap;
    private final Instant created;
    /** How long it may live from {@link #created}, parked time included: its spawn's, or the node's default. */
    private final java.time.Duration wallClockLimit;
    private final AtomicLong seq = new AtomicLong();
    private final CompletableFuture<Fibril> end = new CompletableFuture<>();
    private final long sliceNanos;
    private final long maxInstructions;
    private final String cloneOf;

    private State state = State.RUNNABLE;
    private volatile FibrilStop stopRequest;
    private volatile boolean anchored;
    private volatile long generation = 1;
    private volatile Transfer transfer;
    private volatile String movedTo;
    private final CompletableFuture<String> left = new CompletableFuture<>();
    /** Who spawned it (as the request that spawned it was signed), whose identity its calls carry; null: the node's own. */
    private volatile Caller caller;
    private volatile Mantle mantle;

    // the carrier's, or the parked operation's: never two threads at once
    ScriptableObject scope;
    Object continuation;
    Suspension suspension;
    private long instructions;
    private long sliceStart;
    private String pendingError;
    private volatile long lastEffectGen;
    private final java.util.Set<String> combinedSpaces = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final Map<String, Object> locals = new HashMap<>();
    volatile java.util.concurrent.ScheduledFuture<?> wallClock;

    // the outcome
    private volatile JsonNode result;
    private volatile String error;
    private volatile Instant ended;

    Fibril(String id, Nucleus nucleus, Program program, SpawnSpec spec, long sliceNanos, long maxInstructions) {
        this(id, nucleus, program, spec, sliceNanos, maxInstructions, Instant.now(), null);
    }

    /** A fibril as it arrives from another node (moved or cloned): its birth time and family kept. */
    Fibril(String id, Nucleus nucleus, Program program, SpawnSpec spec, long sliceNanos, long maxInstructions,
           Instant created, String cloneOf) {
        this.id = id;
        this.created = created;
        this.cloneOf = cloneOf;
        this.nucleus = nucleus;
        this.program = program;
        this.args = spec.args();
        this.env = spec.env();
        this.parent = spec.parent();
        this.toChild = spec.toChild();
        this.fromChild = spec.fromChild();
        this.toChildCap = spec.toChildCap();
        this.fromChildCap = spec.fromChildCap();
        this.wallClockLimit = spec.wallClock() != null ? spec.wallClock() : nucleus.settings().getWallClock();
        this.sliceNanos = sliceNanos;
        this.maxInstructions = maxInstructions;
    }

    /** The fibril a host function runs for: the carrier puts it on the context. */
    public static Fibril current(Context cx) {
        Object m = cx.getThreadLocal(SandboxContextFactory.METER_KEY);
        if (m instanceof Fibril f) return f;
        throw new IllegalStateException("no fibril runs on this context");
    }

    public String id() { return id; }
    public Nucleus nucleus() { return nucleus; }
    public Program program() { return program; }
    public ArrayNode args() { return args; }
    public ObjectNode env() { return env; }
    public String parent() { return parent; }
    public String toChild() { return toChild; }
    public String fromChild() { return fromChild; }
    /** The capability of this fibril's receive end of {@link #toChild} (null when the channel needs none). */
    public String toChildCap() { return toChildCap; }
    /** The capability of this fibril's send end of {@link #fromChild} (null when the channel needs none). */
    public String fromChildCap() { return fromChildCap; }
    public Instant created() { return created; }
    public java.time.Duration wallClockLimit() { return wallClockLimit; }
    public JsonNode result() { return result; }
    public String error() { return error; }
    public Instant ended() { return ended; }
    public CompletableFuture<Fibril> end() { return end; }
    /** Completes with the node this copy of the fibril moved to, when it moves (this copy never ends then). */
    public CompletableFuture<String> left() { return left; }
    public synchronized State state() { return state; }
    public long instructions() { return instructions; }
    public String cloneOf() { return cloneOf; }
    public boolean anchored() { return anchored; }
    public void anchor(boolean on) { anchored = on; }
    public long generation() { return generation; }
    void generation(long g) { generation = g; }
    /** The sequence number of the last effect (travels with the fibril, so a moved fibril goes on counting). */
    public long seq() { return seq.get(); }
    void restore(long seqValue, long instructionsValue) {
        seq.set(seqValue);
        instructions = instructionsValue;
    }
    public Transfer transfer() { return transfer; }

    /** Who this fibril acts for: the user who spawned it (or whoever spawned its spawner); null: the node. */
    public Caller caller() { return caller; }

    void actFor(Caller who) {
        caller = who;
        mantle = null;
    }

    /** A caller as packets and checkpoints carry it: subject and roles (who relayed it is not kept). */
    static ObjectNode callerJson(Caller c) {
        ObjectNode o = tools.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("subject", c.subject());
        ArrayNode roles = o.putArray("roles");
        c.roles().forEach(roles::add);
        return o;
    }

    static Caller caller(JsonNode json) {
        if (json == null || !json.hasNonNull("subject") || json.get("subject").asString().isBlank()) return null;
        java.util.List<String> roles = new java.util.ArrayList<>();
        for (JsonNode r : json.path("roles")) roles.add(r.asString());
        return Caller.of(json.get("subject").asString(), roles);
    }

    /** The mantle as this fibril's caller: every store, channel and scheduler call of the fibril goes through it. */
    public Mantle mantle() {
        Mantle m = mantle;
        if (m == null) mantle = m = nucleus.mantle().as(caller);
        return m;
    }
    public String movedTo() { return movedTo; }

    /** Its global scope (null before it first runs and after it ended). */
    public ScriptableObject globalScope() { return scope; }

    /** User modules it has loaded (their compiled code travels by reference when it moves). */
    private final Map<String, Program> modules = new java.util.concurrent.ConcurrentHashMap<>();

    public void usesModule(Program p) { modules.put(p.fingerprint(), p); }

    java.util.Collection<Program> modules() { return modules.values(); }

    /** Per-fibril values modules keep (the sys object, caches): never shared between fibrils. */
    public Map<String, Object> locals() { return locals; }

    /** A fresh number for an idempotency key: (fibril id, seq) names one effect of this fibril. */
    public long nextSeq() { return seq.incrementAndGet(); }

    public long lastEffectGen() { return lastEffectGen; }

    /** Remembers that this fibril's effects went into combiner generation {@code gen}. */
    public void noteEffect(long gen) {
        if (gen > lastEffectGen) lastEffectGen = gen;
    }

    /** The same, for increments combined into {@code space}: its end checks the store took them. */
    public void noteEffect(long gen, String space) {
        noteEffect(gen);
        if (gen > 0) combinedSpaces.add(space);
    }

    /** The spaces this fibril's combined increments went to (on this node). */
    public java.util.Set<String> combinedSpaces() { return combinedSpaces; }

    // --- running ------------------------------------------------------------------------

    @Override
    public void count(int n) {
        instructions += n;
        FibrilStop stop = stopRequest;
        if (stop != null) throw stop;
        if (instructions > maxInstructions) {
            throw new FibrilStop("instruction budget exceeded (" + maxInstructions + " instructions)", false);
        }
    }

    /** Asks for this fibril's own move or clone (sys.migrate, sys.clone); checked like a request from outside. */
    public Transfer requestOwnTransfer(boolean clone, String node, String cloneId) {
        Transfer t = new Transfer(clone ? Transfer.Kind.CLONE : Transfer.Kind.MOVE, node, true, cloneId);
        synchronized (this) {
            if (transfer != null) throw ScriptRuntime.constructError("Error", "a move or clone of this fibril is already under way");
            if (!clone && anchored) throw ScriptRuntime.constructError("Error", "sys.migrate: this fibril is anchored to node " + nucleus.node());
            transfer = t;
        }
        return t;
    }

    /** Host calls check here, so a stop lands even in code that runs few instructions. */
    public void checkStop() {
        FibrilStop stop = stopRequest;
        if (stop != null) throw stop;
    }

    void startSlice() { sliceStart = System.nanoTime(); }

    /** A slice shorter than this makes the fibril brisk: it waited more than it computed. */
    private static final long BRISK_NANOS = 2_000_000;
    /** How long its last slice ran (0 before the first: a new fibril starts brisk). */
    private volatile long lastSliceNanos;

    void endSlice() { lastSliceNanos = System.nanoTime() - sliceStart; }

    /** Its last slice was short: it is woken ahead of fibrils that compute (see Nucleus.Slice). */
    boolean brisk() { return lastSliceNanos < BRISK_NANOS; }

    /**
     * Parks the fibril until {@code start}'s operation completes; the host function throws what this
     * returns. The continuation is captured before the operation starts, so nothing is sent for a
     * call that cannot suspend.
     */
    public ContinuationPending suspend(Context cx, String what, Supplier<? extends CompletableFuture<?>> start,
                                       Suspension.ToJs toJs) {
        return suspend(cx, what, start, toJs, null);
    }

    /** As above, for a wait that {@code restart} can start again elsewhere (see {@link Suspension.Restart}). */
    public ContinuationPending suspend(Context cx, String what, Supplier<? extends CompletableFuture<?>> start,
                                       Suspension.ToJs toJs, Suspension.Restart restart) {
        ContinuationPending p = capture(cx, what);
        CompletableFuture<?> future;
        try {
            future = start.get();
        } catch (RuntimeException e) {
            future = CompletableFuture.failedFuture(e);
        }
        p.setApplicationState(new Suspension(what, future, toJs, true, restart));
        return p;
    }

    private static ContinuationPending capture(Context cx, String what) {
        try {
            return cx.captureContinuation();
        } catch (IllegalStateException e) {
            throw ScriptRuntime.constructError("Error", what + " must wait, and a fibril can only wait in its own code:"
                    + " not inside a callback that a built-in calls (Array.prototype.forEach/map/sort, String.prototype.replace,"
                    + " JSON.parse revivers, getters…). Use a plain for loop around " + what + ".");
        }
    }

    /** Hands the carrier to the next fibril when this one used its slice, carrying the result over. */
    Object yieldIfSliceSpent(Context cx, Object result) {
        if (System.nanoTime() - sliceStart < sliceNanos) return result;
        ContinuationPending p;
        try {
            p = cx.captureContinuation();
        } catch (IllegalStateException inCallback) {
            return result; // cannot yield from here: run on, the next host call will try again
        }
        p.setApplicationState(new Suspension("yield", CompletableFuture.completedFuture(result), Suspension.SAME, false));
        throw p;
    }

    void setPendingError(String message) { pendingError = message; }

    String pendingError() { return pendingError; }

    String takePendingError() {
        String e = pendingError;
        pendingError = null;
        return e == null ? "operation failed" : e;
    }

    // --- state --------------------------------------------------------------------------

    enum Begin { RUN, STOP, SKIP, TRANSFER }

    synchronized Begin beginSlice() {
        if (state != State.RUNNABLE) return Begin.SKIP;
        if (stopRequest != null) {
            state = State.ENDING;
            return Begin.STOP;
        }
        if (transfer != null && suspension != null) {
            state = State.MOVING;
            return Begin.TRANSFER;
        }
        state = State.RUNNING;
        return Begin.RUN;
    }

    /**
     * Asks for a move or clone at the next suspension point. Answers true when the fibril is
     * parked on an operation that can be restarted elsewhere (a sleep, a receive between polls),
     * so the caller may queue it at once.
     */
    synchronized boolean requestTransfer(Transfer t) {
        if (state.ended() || state == State.ENDING || state == State.MOVED) {
            throw M31Problem.conflict("fibril " + id + " has ended (" + state.name().toLowerCase() + ")");
        }
        if (transfer != null) throw M31Problem.conflict("fibril " + id + " is already being moved or cloned");
        if (t.kind == Transfer.Kind.MOVE && anchored) throw M31Problem.conflict("fibril " + id + " is anchored to its node");
        transfer = t;
        if (state == State.PARKED && suspension != null && suspension.restart() != null && suspension.restart().cutAnyTime()) {
            state = State.RUNNABLE;
            return true;
        }
        return false;
    }

    /** The transfer is over (done or failed): the fibril runs on here (a clone, a failed move). */
    synchronized Transfer endTransfer() {
        Transfer t = transfer;
        transfer = null;
        return t;
    }

    /** The fibril now lives on {@code node}: this copy is a tombstone that points there. */
    synchronized void moved(String node) {
        movedTo = node;
        state = State.MOVED;
        transfer = null;
        scope = null;
        continuation = null;
        suspension = null;
        locals.clear();
        left.complete(node);
    }

    /**
     * Parks (also again after a transfer that left the fibril here). False when a stop arrived
     * meanwhile: then the fibril ends instead of parking.
     */
    synchronized boolean park(Object cont, Suspension s) {
        continuation = cont;
        suspension = s;
        if (stopRequest != null) {
            state = State.ENDING;
            return false;
        }
        state = State.PARKED;
        return true;
    }

    synchronized boolean wake(Suspension s) {
        if (state != State.PARKED || suspension != s) return false;
        state = State.RUNNABLE;
        return true;
    }

    synchronized void ending() { state = State.ENDING; }

    /** Records a stop; true when the fibril was parked and the caller must now end it. */
    synchronized boolean requestStop(FibrilStop stop) {
        if (state.ended() || state == State.ENDING || state == State.MOVED) return false;
        if (stopRequest == null) stopRequest = stop;
        if (state == State.PARKED) {
            state = State.ENDING;
            return true;
        }
        return false;
    }

    FibrilStop stopRequest() { return stopRequest; }

    synchronized void ended(State finalState, JsonNode result, String error) {
        this.result = result;
        this.error = error;
        this.ended = Instant.now();
        this.state = finalState;
        // the heavy parts can go: an ended fibril is kept only to be reported
        scope = null;
        continuation = null;
        suspension = null;
        locals.clear();
    }

    // --- messages -----------------------------------------------------------------------

    /** A failure as a script or a user should read it: the message, the JS line, the JS stack. */
    public static String describe(Throwable t) {
        t = unwrap(t);
        if (t instanceof RhinoException re) {
            String details = re.details();
            if (details != null && details.contains("maximum stack depth")) details = "stack depth exceeded (" + details + ")";
            StringBuilder sb = new StringBuilder(details == null ? re.getClass().getSimpleName() : details);
            if (re.lineNumber() > 0) {
                sb.append(" (").append(re.sourceName() == null ? "script" : re.sourceName()).append(" line ")
                        .append(re.lineNumber()).append(')');
            }
            String stack = re.getScriptStackTrace();
            if (stack != null && !stack.isBlank()) {
                String[] lines = stack.split("\n");
                sb.append('\n');
                for (int i = 0; i < Math.min(lines.length, 20); i++) sb.append(lines[i]).append('\n');
                if (lines.length > 20) sb.append("\t… ").append(lines.length - 20).append(" more frames\n");
                sb.setLength(sb.length() - 1);
            }
            return sb.toString();
        }
        if (t instanceof M31Problem p) return p.getMessage();
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) t = t.getCause();
        return t;
    }

    @Override
    public String toString() { return "Fibril[" + id + "]"; }
}
