package dev.andromeda.fibril.nucleus;

import dev.andromeda.common.id.Ids;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.fibril.migration.FibrilStreams;
import dev.andromeda.fibril.migration.PacketKey;
import dev.andromeda.fibril.migration.SharedObjects;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ScriptableObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Moves and clones fibrils between nodes.
 *
 * <p><b>Leaving.</b> A move or clone is asked of a fibril and carried out at its next suspension
 * point, on a carrier: the answer it waited for is turned into its JS value (or, for a wait that
 * can be restarted — a sleep, a receive between two polls — the wait itself travels), then its
 * continuation, global scope, that value and its per-fibril module objects are serialized in one
 * graph ({@link FibrilStreams}: the node's shared objects go by name), signed with the
 * constellation's packet key, checkpointed in the store and handed to the target node. Its store
 * effects are made durable first. Only when the target has it (bound in naming, queued) does this
 * node forget it: the copy here becomes a tombstone that answers 404, so the gateway resolves the
 * id again and finds the new node. A refused packet leaves the fibril running here.
 *
 * <p><b>Arriving.</b> The signature is checked before a byte is deserialized (a forged or
 * tampered packet is refused and logged), then the packet's freshness, its target and the shared
 * objects' fingerprint; the graph is read through the allow-list filter, the fibril is bound in
 * naming (its generation grows) and queued. A packet delivered twice (a lost answer, a retry) is
 * adopted once: the second delivery gets the first answer.
 */
final class Transfers {

    private static final Logger log = LoggerFactory.getLogger(Transfers.class);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final JsonMapper JSON = JsonMapper.builder().build();
    static final String CHECKPOINTS = "sys_fibrils";
    private static final Duration FRESH = Duration.ofMinutes(5);
    private static final Base64.Encoder B64 = Base64.getEncoder();
    private static final Base64.Decoder B64D = Base64.getDecoder();

    private final Nucleus nucleus;
    private final SharedObjects shared;
    private final PacketKey key;
    private final Map<String, Fibril> adopted = new LinkedHashMap<>(64, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Fibril> eldest) { return size() > 10_000; }
    };
    private volatile CompletableFuture<Void> checkpointSpace;

    Transfers(Nucleus nucleus, SharedObjects shared, PacketKey key) {
        this.nucleus = nucleus;
        this.shared = shared;
        this.key = key;
    }

    SharedObjects shared() { return shared; }

    // --- asking -------------------------------------------------------------------------

    /** Asks {@code f} to move (or fork) to {@code node}; the future completes when it is there. */
    CompletableFuture<JsonNode> request(Fibril f, Fibril.Transfer.Kind kind, String node) {
        if (node == null || !node.matches("[A-Za-z0-9-]{1,63}")) throw M31Problem.badRequest("node", "name the target node");
        if (kind == Fibril.Transfer.Kind.MOVE && node.equals(nucleus.node())) {
            throw M31Problem.conflict("fibril " + f.id() + " already runs on node " + node);
        }
        if (kind == Fibril.Transfer.Kind.MOVE && f.anchored()) {
            throw M31Problem.conflict("fibril " + f.id() + " is anchored to node " + nucleus.node());
        }
        checkNode(node);
        String cloneId = kind == Fibril.Transfer.Kind.CLONE ? Ids.newId(Ids.FIBRIL) : null;
        Fibril.Transfer t = new Fibril.Transfer(kind, node, false, cloneId);
        if (f.requestTransfer(t)) nucleus.submit(f);
        return t.outcome();
    }

    /** A node that naming does not know is a 404 before anything is asked of the fibril. */
    void checkNode(String node) {
        if (node.equals(nucleus.node())) return;
        JsonNode b;
        try {
            b = nucleus.mantle().lookup(node).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw M31Problem.unavailable("cannot ask naming where node " + node + " is: " + Fibril.describe(e));
        }
        if (b == null || b.path("gone").asBoolean(false) || !"node".equals(b.path("kind").asString())) {
            throw M31Problem.notFound("no node " + node + " in this constellation");
        }
    }

    // --- leaving (on a carrier) -----------------------------------------------------------

    /** What the fibril resumes with: a JS value (maybe the error mark) or a wait to start again. */
    private record Resume(Object value, String error, Suspension.Restart restart, String what, boolean errorsToScript) {}

    /** Runs on a carrier, in a context, when a fibril with a transfer reached a suspension point. */
    void carry(Fibril f, Context cx) {
        Fibril.Transfer t = f.transfer();
        Suspension s = f.suspension;
        Object cont = f.continuation;
        Resume r = resumeOf(f, cx, s);
        boolean scriptClone = t.fromScript && t.kind == Fibril.Transfer.Kind.CLONE;
        byte[] state;
        ObjectNode header;
        try {
            // a clone asked by sys.clone() resumes with null; the original gets the clone's id; a
            // wait that stopped to be started again (AGAIN) carries nothing: its restart does
            Object travelling = scriptClone || r.value() == Suspension.AGAIN ? null : r.value();
            Map<String, Object> locals = new HashMap<>(f.locals());
            ByteArrayOutputStream bos = new ByteArrayOutputStream(16 * 1024);
            Map<Object, FibrilStreams.ProgramRef> programs = new java.util.IdentityHashMap<>();
            if (f.program().script() != null) {
                programs.put(f.program().script(), new FibrilStreams.ProgramRef(f.program().kind().name(), f.program().fingerprint()));
            }
            for (Program m : f.modules()) programs.put(m.script(), new FibrilStreams.ProgramRef(m.kind().name(), m.fingerprint()));
            try (FibrilStreams.Out out = new FibrilStreams.Out(bos, nucleus.library(), shared, programs)) {
                out.writeObject(new Object[] {cont, f.scope, travelling, locals, r.restart()});
            }
            state = bos.toByteArray();
            header = header(f, t, r, scriptClone);
        } catch (IOException | RuntimeException e) {
            log.warn("fibril {} cannot leave node {}: {}", f.id(), nucleus.node(), e.toString());
            String why = "fibril " + f.id() + " cannot be moved: its state does not serialize (" + e.getMessage() + ")";
            stay(f, t, cont, s, r, new M31Problem(409, "not-movable", why, null));
            return;
        }
        if (state.length > nucleus.settings().getMaxPacketBytes()) {
            stay(f, t, cont, s, r, new M31Problem(409, "too-large", "fibril " + f.id() + " holds " + state.length
                    + " bytes of state; the packet limit is " + nucleus.settings().getMaxPacketBytes(), null));
            return;
        }
        byte[] head = header.toString().getBytes(StandardCharsets.UTF_8);
        ObjectNode packet = F.objectNode()
                .put("header", new String(head, StandardCharsets.UTF_8))
                .put("state", B64.encodeToString(state))
                .put("sig", B64.encodeToString(key.sign(head, state)));
        String newId = header.get("id").asString();
        // effects and sends first (the fibril's batches are this node's: a send from the new node
        // must not overtake one still here), then the checkpoint, then the hand-over
        nucleus.combiner().awaitDurable(f.lastEffectGen())
                .thenCompose(v -> nucleus.modules().sendsDurable(f))
                .thenCompose(v -> checkpoint(newId, t.kind == Fibril.Transfer.Kind.MOVE ? "moving" : "cloned", t.node, f.seq(), packet))
                .thenCompose(v -> {
                    // killed while it was being packed: it does not move, it ends here (see stay)
                    if (t.kind == Fibril.Transfer.Kind.MOVE && f.stopRequest() != null) {
                        throw M31Problem.conflict("fibril " + f.id() + " was killed before it could move");
                    }
                    return nucleus.mantle().deliver(t.node, packet);
                })
                .handle((answer, err) -> {
                    if (err == null) return CompletableFuture.completedFuture(answer);
                    return settle(newId, t, Fibril.unwrap(err));
                })
                .thenCompose(x -> x)
                .whenComplete((answer, err) -> {
                    if (err == null && t.kind == Fibril.Transfer.Kind.MOVE) {
                        nucleus.movedAway(f, t.node);
                        log.info("fibril {} moved from {} to {} (generation {})", f.id(), nucleus.node(), t.node,
                                answer == null ? "?" : answer.path("generation").asString());
                        t.outcome.complete(answer);
                        if (f.stopRequest() != null) forwardKill(f, t.node);
                    } else if (err == null) {
                        Resume back = scriptClone ? new Resume(newId, null, null, r.what(), r.errorsToScript()) : r;
                        stay(f, t, cont, s, back, null);
                        t.outcome.complete(answer);
                    } else {
                        stay(f, t, cont, s, r, Fibril.unwrap(err));
                    }
                });
    }

    /** A kill that came while the packet was on its way: the fibril now lives there, so it is killed there. */
    private void forwardKill(Fibril f, String node) {
        log.info("fibril {} was killed while moving to {}: the kill follows it", f.id(), node);
        nucleus.retry(() -> nucleus.mantle().kill(node, f.id()), 10, 200).whenComplete((v, e) -> {
            if (e != null) log.error("fibril {}: a kill could not follow it to node {}: {}", f.id(), node, Fibril.describe(e));
        });
    }

    /**
     * After a failed hand-over: did the target get it anyway (the answer was lost)? Naming says
     * so: a node binds a fibril before it answers. A refusal (4xx) is final.
     */
    private CompletableFuture<JsonNode> settle(String id, Fibril.Transfer t, Throwable err) {
        if (err instanceof M31Problem p && p.status() >= 400 && p.status() < 500) return CompletableFuture.failedFuture(err);
        return nucleus.mantle().lookup(id).handle((b, e) -> {
            if (e == null && b != null && t.node.equals(b.path("node").asString())) {
                log.warn("fibril {}: the answer of node {} was lost ({}), but naming shows it arrived", id, t.node, err.toString());
                return (JsonNode) F.objectNode().put("id", id).put("node", t.node).put("generation", b.path("generation").asLong());
            }
            throw err instanceof RuntimeException re ? re : new java.util.concurrent.CompletionException(err);
        });
    }

    /** The fibril goes on here: a clone was made, or the move failed (then the script may hear why). */
    private void stay(Fibril f, Fibril.Transfer t, Object cont, Suspension s, Resume r, Throwable failure) {
        f.endTransfer();
        if (failure != null) {
            log.info("fibril {} stays on node {}: {} to {} failed: {}", f.id(), nucleus.node(),
                    t.kind.name().toLowerCase(), t.node, Fibril.describe(failure));
            t.outcome.completeExceptionally(failure);
        }
        Suspension next;
        if (t.fromScript && failure != null) {
            f.setPendingError((t.kind == Fibril.Transfer.Kind.MOVE ? "sys.migrate(" : "sys.clone(") + t.node + "): "
                    + Fibril.describe(failure));
            next = Suspension.ready(r.what(), nucleus.shims().mark(), true);
        } else if (r.restart() != null && (s.future().isDone() || r.value() == Suspension.AGAIN)) {
            // the wait had ended by "poll again" (or we cut it): start it anew here
            next = r.restart().start(nucleus, f);
        } else if (r.restart() != null) {
            next = s; // the same wait goes on
        } else {
            if (r.error() != null) f.setPendingError(r.error());
            next = Suspension.ready(r.what(), r.value(), r.errorsToScript());
        }
        nucleus.repark(f, cont, next);
    }

    private Resume resumeOf(Fibril f, Context cx, Suspension s) {
        if (s.restart() != null) {
            if (!s.future().isDone()) return new Resume(null, null, s.restart(), s.what(), s.errorsToScript());
            Object v = s.future().getNow(null);
            if (!s.future().isCompletedExceptionally() && v == Suspension.AGAIN) {
                return new Resume(Suspension.AGAIN, null, s.restart(), s.what(), s.errorsToScript());
            }
        }
        try {
            Object v = s.toJs().apply(cx, f.scope, s.future().join());
            return new Resume(v, null, null, s.what(), s.errorsToScript());
        } catch (RuntimeException e) {
            if (!s.errorsToScript()) throw e;
            Throwable t = Fibril.unwrap(e);
            String msg = s.what() + ": " + (t instanceof CancellationException ? "cancelled" : Fibril.describe(t));
            return new Resume(nucleus.shims().mark(), msg, null, s.what(), true);
        }
    }

    private ObjectNode header(Fibril f, Fibril.Transfer t, Resume r, boolean scriptClone) {
        boolean clone = t.kind == Fibril.Transfer.Kind.CLONE;
        ObjectNode h = F.objectNode();
        h.put("v", 1);
        h.put("kind", clone ? "clone" : "move");
        h.put("id", clone ? t.cloneId : f.id());
        h.put("origin", f.id());
        h.put("from", nucleus.node());
        h.put("to", t.node);
        h.put("nonce", UUID.randomUUID().toString());
        h.put("issued", System.currentTimeMillis());
        h.put("shared", shared.fingerprint());
        h.put("programKind", f.program().kind().name());
        h.put("fingerprint", f.program().fingerprint());
        h.put("source", f.program().source());
        h.set("args", f.args() == null ? F.arrayNode() : f.args());
        h.set("env", f.env() == null ? F.objectNode() : f.env());
        // a clone is one more child of the same parent: it reports its end on the original's
        // report channel, as a spawned child does; the channel to the original stays the original's
        h.put("parent", f.parent());
        if (!clone) {
            h.put("toChild", f.toChild());
            h.put("toChildCap", f.toChildCap());
        }
        h.put("fromChild", f.fromChild());
        h.put("fromChildCap", f.fromChildCap());
        h.put("cloneOf", clone ? f.id() : f.cloneOf());
        // to the nanosecond, as GET /fibrils/{id} shows it: a move must not change when it was born
        h.put("created", (clone ? Instant.now() : f.created()).toString());
        h.put("wallClock", f.wallClockLimit().toMillis());
        h.put("seq", f.seq());
        h.put("instructions", f.instructions());
        h.put("anchored", !clone && f.anchored());
        h.put("generation", f.generation());
        // whom it acts for travels with it (the packet is signed: only a node can say so)
        if (f.caller() != null) h.set("caller", Fibril.callerJson(f.caller()));
        h.put("what", r.what());
        h.put("errorsToScript", r.errorsToScript());
        if (r.error() != null && !scriptClone) h.put("error", r.error());
        return h;
    }

    // --- checkpoints ------------------------------------------------------------------------

    /**
     * Writes a fibril's checkpoint to the store (space sys_fibrils, keyed by id): its spawn
     * packet when it starts, its signed continuation packet when it moves.
     */
    CompletableFuture<Void> checkpoint(String id, String stateName, String node, long seq, JsonNode packet) {
        if (!nucleus.settings().isCheckpoints()) return CompletableFuture.completedFuture(null);
        ObjectNode write = F.objectNode();
        ObjectNode attrs = write.putObject("attrs");
        attrs.put("state", stateName).put("node", node).put("seq", seq).put("updated", Instant.now().toString());
        attrs.set("packet", packet);
        return space().thenCompose(v -> nucleus.mantle().putObject(CHECKPOINTS, id, write)).thenApply(v -> null);
    }

    /** Marks a checkpoint ended (best effort: a restart of an ended fibril finds this state). */
    void ended(Fibril f, Fibril.State state) {
        if (!nucleus.settings().isCheckpoints() || f.movedTo() != null) return;
        ObjectNode write = F.objectNode();
        write.putObject("attrs").put("state", state.name().toLowerCase()).put("node", nucleus.node()).put("seq", f.seq())
                .put("updated", Instant.now().toString());
        space().thenCompose(v -> nucleus.mantle().putObject(CHECKPOINTS, f.id(), write)).exceptionally(e -> {
            log.debug("checkpoint of {}'s end not written: {}", f.id(), e.toString());
            return null;
        });
    }

    private CompletableFuture<Void> space() {
        CompletableFuture<Void> s = checkpointSpace;
        if (s != null && !s.isCompletedExceptionally()) return s;
        ObjectNode spec = F.objectNode().put("key", "id");
        ObjectNode attrs = spec.putObject("attrs");
        attrs.put("state", "Str").put("node", "Str").put("seq", "Int").put("updated", "Str").put("packet", "Any");
        s = nucleus.mantle().makeSpace(CHECKPOINTS, spec).handle((v, e) -> {
            if (e != null && !(Fibril.unwrap(e) instanceof M31Problem p && p.status() == 409)) {
                throw new java.util.concurrent.CompletionException(Fibril.unwrap(e));
            }
            return null;
        });
        checkpointSpace = s;
        return s;
    }

    // --- arriving ---------------------------------------------------------------------------

    /** Verifies, reads and adopts a packet; answers the fibril as it now runs here. */
    Fibril accept(String headerText, String stateB64, String sigB64) {
        byte[] head = headerText == null ? new byte[0] : headerText.getBytes(StandardCharsets.UTF_8);
        byte[] state;
        byte[] sig;
        try {
            state = B64D.decode(stateB64 == null ? "" : stateB64);
            sig = B64D.decode(sigB64 == null ? "" : sigB64);
        } catch (IllegalArgumentException e) {
            throw M31Problem.badRequest("state", "the packet is not base64");
        }
        if (!key.verify(head, state, sig)) {
            log.warn("node {}: refused a migration packet with a bad signature (forged, tampered, or another constellation's key)",
                    nucleus.node());
            throw new M31Problem(403, "bad-signature", "the packet's signature does not verify: refused", "sig");
        }
        JsonNode h;
        try {
            h = JSON.readTree(headerText);
        } catch (RuntimeException e) {
            throw M31Problem.badRequest("header", "the packet header is not JSON");
        }
        String id = h.path("id").asString();
        Ids.require(id, Ids.FIBRIL, "header.id");
        if (!nucleus.node().equals(h.path("to").asString())) {
            throw M31Problem.conflict("the packet is for node " + h.path("to").asString() + ", this is " + nucleus.node());
        }
        long issued = h.path("issued").asLong(0);
        if (Math.abs(System.currentTimeMillis() - issued) > FRESH.toMillis()) {
            log.warn("node {}: refused a stale migration packet for {} (issued {})", nucleus.node(), id, Instant.ofEpochMilli(issued));
            throw new M31Problem(403, "stale-packet", "the packet was issued more than " + FRESH.toMinutes() + " minutes ago", "header");
        }
        String nonce = h.path("nonce").asString();
        synchronized (adopted) {
            Fibril again = adopted.get(nonce);
            if (again != null) return again;
        }
        if (!shared.fingerprint().equals(h.path("shared").asString())) {
            throw M31Problem.conflict("node " + h.path("from").asString() + " runs a different nucleus (shared objects "
                    + h.path("shared").asString() + ", here " + shared.fingerprint() + ")");
        }
        long arriving = h.path("generation").asLong(0);
        // A copy here that is still leaving, at a lower generation than the one arriving, is stale:
        // the fibril reached the other node (naming moved it on), ran there and came straight back
        // before this node heard the answer to its hand-over. It is taken in; the stale copy's
        // hand-over ends without marking it moved (Nucleus.movedAway)
        if (nucleus.find(id).filter(x -> x.state() != Fibril.State.MOVED
                && !(x.state() == Fibril.State.MOVING && x.generation() < arriving)).isPresent()) {
            throw M31Problem.conflict("fibril " + id + " already runs on node " + nucleus.node());
        }
        Program.Kind kind = Program.Kind.valueOf(h.path("programKind").asString("SCRIPT"));
        String fp = h.path("fingerprint").asString();
        Program program = nucleus.program(kind, fp, text(h, "source"));
        Object[] graph;
        Map<String, Program> modules = new HashMap<>();
        try (Context cx = nucleus.factory().enterContext();
             FibrilStreams.In in = new FibrilStreams.In(new ByteArrayInputStream(state), nucleus.library(), shared,
                     nucleus.settings().getMaxPacketBytes() + 1024,
                     ref -> ref.fingerprint().equals(fp) && ref.kind().equals(kind.name()) ? program.script()
                             : ref.kind().equals(Program.Kind.MODULE.name()) ? modules.computeIfAbsent(ref.fingerprint(), nucleus::moduleNow).script()
                             : null)) {
            graph = (Object[]) in.readObject();
        } catch (IOException | ClassNotFoundException | ClassCastException e) {
            log.warn("node {}: refused the state of migrating fibril {}: {}", nucleus.node(), id, e.toString());
            throw M31Problem.badRequest("state", "the packet's state cannot be read: " + e.getMessage());
        }
        SpawnSpec spec = new SpawnSpec(kind, null, fp,
                h.get("args") instanceof ArrayNode a ? a : F.arrayNode(),
                h.get("env") instanceof ObjectNode o ? o : F.objectNode(),
                text(h, "parent"), text(h, "toChild"), text(h, "fromChild"), text(h, "toChildCap"), text(h, "fromChildCap"),
                // its own limit comes along (a packet from a node of before had none: this node's default)
                h.path("wallClock").asLong(0) > 0 ? java.time.Duration.ofMillis(h.path("wallClock").asLong()) : null);
        Fibril f = new Fibril(id, nucleus, program, spec, nucleus.settings().getTimeSlice().toNanos(),
                nucleus.settings().getMaxInstructions(), created(h.get("created")),
                text(h, "cloneOf"));
        f.restore(h.path("seq").asLong(0), h.path("instructions").asLong(0));
        f.anchor(h.path("anchored").asBoolean(false));
        f.actFor(Fibril.caller(h.get("caller")));
        modules.values().forEach(f::usesModule);
        f.scope = (ScriptableObject) graph[1];
        @SuppressWarnings("unchecked")
        Map<String, Object> locals = (Map<String, Object>) graph[3];
        if (locals != null) f.locals().putAll(locals);
        long generation;
        try {
            generation = nucleus.mantle().rebind(id, "fibril").get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw M31Problem.unavailable("cannot bind " + id + " to node " + nucleus.node() + " in naming: " + Fibril.describe(e));
        }
        f.generation(generation);
        Suspension.Restart restart = (Suspension.Restart) graph[4];
        Suspension s;
        if (restart != null) {
            s = restart.start(nucleus, f);
        } else {
            String error = text(h, "error");
            if (error != null) f.setPendingError(error);
            s = Suspension.ready(h.path("what").asString("resume"), graph[2], h.path("errorsToScript").asBoolean(true));
        }
        nucleus.adopt(f, graph[0], s);
        synchronized (adopted) {
            adopted.put(nonce, f);
        }
        log.info("fibril {} arrived on node {} from {} ({}, {} bytes, generation {})", id, nucleus.node(),
                h.path("from").asString(), h.path("kind").asString(), state.length, generation);
        return f;
    }

    private static String text(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asString() : null;
    }

    /** A packet's birth time: an instant's text (epoch millis from a node of before). */
    private static Instant created(JsonNode v) {
        if (v != null && v.isString()) {
            try {
                return Instant.parse(v.asString());
            } catch (java.time.format.DateTimeParseException e) {
                return Instant.now();
            }
        }
        return v != null && v.isNumber() ? Instant.ofEpochMilli(v.asLong()) : Instant.now();
    }
}
