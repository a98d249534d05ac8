package dev.andromeda.fibril.modules;

import dev.andromeda.common.channel.ChannelTypes;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.nucleus.Fibril;
import dev.andromeda.fibril.nucleus.Nucleus;
import dev.andromeda.fibril.nucleus.Suspension;
import java.io.Serial;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ContinuationPending;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import org.mozilla.javascript.Undefined;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code chan}: channels and their endpoints. {@code chan.open(type?, {mode, capacity}?)} gives
 * [send, recv], with capabilities. {@code send(v)} waits until a receiver took the message (sync)
 * or it is durable (async with a capacity); on an async channel without one it goes on at once
 * and the message follows in the node's next batch (see {@link ChannelSender} for retries, group
 * commit and back-pressure). Such sends are the fibril's <em>outbox</em>: a failure of one is
 * thrown by the fibril's next send, and the fibril neither moves nor ends before they are durable
 * (it ends failed if one was refused).
 *
 * <p>{@code recv()} answers the next message, or null once the channel is closed and drained. It
 * takes messages in leased batches ({@code ack=manual}) into the fibril's <em>inbox</em> (a
 * per-fibril local, so it travels in a migration packet), answers them one at a time without
 * waiting, and acknowledges what the fibril consumed only when it asks for more, or at its end.
 * So an acknowledgement always follows the state that consumed the message: a fibril that moves
 * takes its unconsumed messages and its unacknowledged seq along, and acknowledges from the new
 * node. Each poll's messages are a lease of their own at the service, and the ack names it, so
 * fibrils sharing a receive endpoint never acknowledge each other's messages; what this fibril
 * consumed and may not have been acknowledged (its lease ran out, the service restarted) is
 * dropped if it comes again, while another receiver's messages given back are delivered.
 */
final class ChanModule {

    /** A poll's longest wait: a receiver parked with nothing coming can move only between two. */
    static final int POLL_SECONDS = 10;
    /** Messages one poll may take into an inbox. */
    static final int BATCH = 5000;
    /** How long taken messages stay leased to the fibril (a move must fit in it). */
    static final int LEASE_SECONDS = 120;
    private static final String INBOX = "chan.inbox:";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Modules modules;
    private final ScriptableObject object;
    private final ScriptableObject endpointProto;
    private final Scriptable shared;
    private final ChannelSender sender;
    private final LocalRendezvous rendezvous;
    /** Fibril id → its async sends not yet durable. */
    private final Map<String, Outbox> outboxes = new ConcurrentHashMap<>();

    ChanModule(Modules modules, Context cx, Scriptable shared) {
        this.modules = modules;
        this.shared = shared;
        Nucleus nucleus = modules.nucleus();
        // every channel call goes through the fibril's own mantle: it acts for whoever spawned it
        // the channel service's own type checks: a message is judged here as it would be there
        ChannelTypes types = new ChannelTypes();
        this.rendezvous = new LocalRendezvous(nucleus::timers, nucleus.settings().getLocalRendezvous(), types);
        this.sender = new ChannelSender(nucleus::timers, nucleus.node(), rendezvous, types);

        endpointProto = modules.module(cx);
        modules.suspending(cx, endpointProto, "send", 1, (f, c, thisObj, args) -> {
            Endpoint ep = endpoint(thisObj, "send");
            if (!ep.sends()) throw ScriptRuntime.typeError("this endpoint receives from /ch/" + ep.channel() + "; it cannot send");
            Modules.Outgoing value = modules.message(Args.at(args, 0), "the message");
            Outbox out = outboxes.computeIfAbsent(f.id(), id -> new Outbox());
            String failed = out.takeFailure();
            if (failed != null) throw ScriptRuntime.constructError("Error", failed);
            String key = f.id() + ":" + f.nextSeq();
            if (sender.offer(f.mantle(), f.caller(), ep.channel(), ep.cap(), value, key, d -> out.track(ep.channel(), d))) return Undefined.instance;
            SendAgain again = new SendAgain(ep.channel(), ep.cap(), value.text(), key);
            throw f.suspend(c, "send", () -> send(f, again, value), SENT, again);
        });
        modules.suspending(cx, endpointProto, "recv", 0, (f, c, thisObj, args) -> {
            Endpoint ep = endpoint(thisObj, "recv");
            if (ep.sends()) throw ScriptRuntime.typeError("this endpoint sends on /ch/" + ep.channel() + "; it cannot receive");
            Inbox in = inbox(f, ep.channel(), ep.cap());
            // what an earlier poll took is answered at once, with no wait
            if (in.buffered()) return modules.toJs(c, shared, in.take());
            RecvAgain again = new RecvAgain(ep.channel(), ep.cap());
            throw f.suspend(c, "recv", () -> receive(f, ep.channel(), ep.cap()), RECEIVED, again);
        });
        endpointProto.sealObject();

        object = modules.module(cx);
        modules.suspending(cx, object, "open", 2, (f, c, thisObj, args) -> {
            ObjectNode spec = JsonNodeFactory.instance.objectNode();
            spec.set("type", Args.given(args, 0) ? modules.outgoing(args[0], "the channel type") : JsonNodeFactory.instance.stringNode("Any"));
            spec.put("mode", "async");
            if (Args.given(args, 1)) options(Args.object(args, 1, "chan.open opts"), spec);
            // a channel a fibril opens is used only through its endpoints' capabilities
            spec.put("capabilities", true);
            boolean isSync = spec.get("mode").asString().equals("sync");
            throw f.suspend(c, "chan.open", () -> f.mantle().openChannel(spec), (cx2, scope, v) -> {
                Mantle.Opened o = (Mantle.Opened) v;
                sender.opened(o.id(), isSync, spec.get("type"), spec.hasNonNull("capacity") ? spec.get("capacity").asInt() : null);
                return cx2.newArray(scope, new Object[] {endpoint(o.id(), "send", o.sendCap()), endpoint(o.id(), "recv", o.recvCap())});
            });
        });
        object.sealObject();
    }

    /** opts of chan.open: mode ('sync' or 'async') and capacity (async back-pressure). */
    private static void options(Scriptable opts, ObjectNode spec) {
        Object mode = ScriptableObject.getProperty(opts, "mode");
        if (mode instanceof CharSequence m) {
            String v = m.toString();
            if (!v.equals("sync") && !v.equals("async")) throw ScriptRuntime.typeError("chan.open: mode is 'sync' or 'async', not '" + v + "'");
            spec.put("mode", v);
        } else if (mode != Scriptable.NOT_FOUND && mode != null && !Undefined.isUndefined(mode)) {
            throw ScriptRuntime.typeError("chan.open: mode is 'sync' or 'async'");
        }
        Object capacity = ScriptableObject.getProperty(opts, "capacity");
        if (capacity instanceof Number n) {
            double d = n.doubleValue();
            if (d != Math.rint(d) || d < 1 || d > Integer.MAX_VALUE) throw ScriptRuntime.typeError("chan.open: capacity is a whole number of at least 1");
            spec.put("capacity", (int) d);
        } else if (capacity != Scriptable.NOT_FOUND && capacity != null && !Undefined.isUndefined(capacity)) {
            throw ScriptRuntime.typeError("chan.open: capacity is a number");
        }
    }

    ScriptableObject object() { return object; }
    ScriptableObject endpointProto() { return endpointProto; }
    ChannelSender sender() { return sender; }
    /** Sync messages this node handed from one of its fibrils to another in memory. */
    long handedInMemory() { return rendezvous.handedOver(); }

    private static final Suspension.ToJs SENT = (cx, scope, v) -> Undefined.instance;

    /** A send that waits: for a receiver (sync), for durability, or for room in its lane. */
    private CompletableFuture<Object> send(Fibril f, SendAgain s, Modules.Outgoing value) {
        Outbox out = outboxes.computeIfAbsent(f.id(), id -> new Outbox());
        BooleanSupplier gone = () -> f.state().ended() || f.state() == Fibril.State.ENDING;
        return sender.send(f.mantle(), f.caller(), s.channel(), s.cap(), value, s.key(), gone, () -> f.transfer() != null,
                d -> out.track(s.channel(), d));
    }

    /**
     * A sync send, sent again (same key) on the node its fibril moved to: a fibril parked in a
     * rendezvous that nobody takes can move between two waits at the service (its message was
     * withdrawn and its key freed; see ChannelSender#SYNC_WAIT).
     */
    record SendAgain(String channel, String cap, String value, String key) implements Suspension.Restart {
        @Override
        public Suspension start(Nucleus nucleus, Fibril f) {
            return new Suspension("send", nucleus.modules().chan().send(f, this, new Modules.Outgoing(JSON.readTree(value), value)), SENT, true, this);
        }

        @Override public boolean cutAnyTime() { return false; }
    }

    // --- the outbox ---------------------------------------------------------------------------

    /** A fibril's async sends that went on before their messages were durable. */
    static final class Outbox {
        private int pending;
        private String failure;
        private CompletableFuture<Void> drained = CompletableFuture.completedFuture(null);

        synchronized void track(String channel, CompletableFuture<JsonNode> durable) {
            if (pending++ == 0) drained = new CompletableFuture<>();
            durable.whenComplete((v, e) -> done(channel, e));
        }

        private void done(String channel, Throwable e) {
            CompletableFuture<Void> d = null;
            synchronized (this) {
                if (e != null && failure == null) failure = "an earlier send to /ch/" + channel + " failed: " + Fibril.describe(ChannelSender.unwrap(e));
                if (--pending == 0) d = drained;
            }
            if (d != null) d.complete(null);
        }

        /** The first failure since the last asked, now reported. */
        synchronized String takeFailure() {
            String f = failure;
            failure = null;
            return f;
        }

        synchronized CompletableFuture<Void> drained() { return drained; }
    }

    /**
     * Completes when every send of {@code f} that went on without waiting is durable; fails with
     * the first such send's failure not yet thrown to the fibril. Before a move and at the end.
     */
    CompletableFuture<Void> sendsDurable(Fibril f) {
        Outbox out = outboxes.get(f.id());
        if (out == null) return CompletableFuture.completedFuture(null);
        return out.drained().thenRun(() -> {
            String failed = out.takeFailure();
            if (failed != null) throw M31Problem.conflict(failed);
        });
    }

    /** The fibril ended: its outbox goes once its sends are durable. */
    void forget(Fibril f) {
        Outbox out = outboxes.get(f.id());
        if (out != null) out.drained().whenComplete((v, e) -> outboxes.remove(f.id(), out));
    }

    // --- receiving ----------------------------------------------------------------------------

    /**
     * What a fibril took from one receive endpoint and has not consumed yet, the lease it holds them
     * under and how far in that lease it consumed. A per-fibril local: it travels with the fibril. A
     * clone (another id) starts with an empty one.
     */
    static final class Inbox implements Serializable {
        @Serial private static final long serialVersionUID = 2L;
        String owner;
        /** The lease of the last poll's messages at the channel service (0: none). */
        long lease;
        /** How far in that lease the fibril consumed: what its next ack covers (0: nothing to acknowledge). */
        long upTo;
        /** The last poll's seqs; those before {@link #next} are consumed, and not yet known acknowledged. */
        long[] seqs = new long[0];
        /**
         * Per message, the seq that consuming it acknowledges up to: past its own when the messages
         * after it in the lease were dropped as consumed before (null: each its own).
         */
        long[] ackTo;
        /** The messages as they came (parsed once); not written in a packet: {@link #values} is. */
        transient JsonNode[] nodes = new JsonNode[0];
        /** The unconsumed messages' JSON text, made only when the inbox travels (see writeObject). */
        String[] values;
        int next;
        /**
         * How many the next poll may take: 1 at first, doubled by every poll up to {@link #BATCH}, so
         * that a fibril that takes one message and stops (a worker among several on one endpoint)
         * does not hold a thousand leased from the others, while a fibril reading a stream soon
         * takes big batches.
         */
        int batch = 1;

        boolean buffered() { return next < seqs.length; }

        /** The next buffered message, now consumed. */
        JsonNode take() {
            upTo = ackTo != null ? ackTo[next] : seqs[next];
            JsonNode v;
            if (nodes != null) {
                v = nodes[next];
                nodes[next] = null;
            } else {
                v = JSON.readTree(values[next]);
                values[next] = null;
            }
            next++;
            return v;
        }

        @Serial
        private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
            if (nodes != null) {
                values = new String[nodes.length];
                for (int i = next; i < nodes.length; i++) values[i] = nodes[i].toString();
            }
            out.defaultWriteObject();
        }

        /** True when this fibril consumed {@code seq} from its last poll (its ack may not have counted). */
        boolean consumed(long seq) {
            int i = java.util.Arrays.binarySearch(seqs, 0, next, seq);
            return i >= 0;
        }

        /**
         * A poll's messages (held under {@code leaseId}), without those this fibril consumed from
         * the poll before: the ack that came with this poll may have found no lease (the service
         * restarted, or the lease ran out and the messages were handed out again), so they can come
         * back. Only this fibril's own are dropped: another receiver's, given back when its lease ran
         * out, are delivered. A dropped one is still acknowledged, with the message before it.
         */
        void fill(List<Long> s, List<JsonNode> v, long leaseId) {
            long[] keep = new long[s.size()];
            long[] to = new long[s.size()];
            JsonNode[] vals = new JsonNode[s.size()];
            boolean dropped = false;
            int n = 0;
            long droppedBefore = 0;
            for (int i = 0; i < s.size(); i++) {
                long seq = s.get(i);
                if (consumed(seq)) {
                    dropped = true;
                    if (n > 0) to[n - 1] = seq;
                    else droppedBefore = seq;
                    continue;
                }
                keep[n] = seq;
                to[n] = seq;
                vals[n++] = v.get(i) == null ? tools.jackson.databind.node.NullNode.getInstance() : v.get(i);
            }
            seqs = n == keep.length ? keep : java.util.Arrays.copyOf(keep, n);
            ackTo = dropped ? java.util.Arrays.copyOf(to, n) : null;
            nodes = n == vals.length ? vals : java.util.Arrays.copyOf(vals, n);
            values = null;
            next = 0;
            lease = leaseId;
            // dropped ones before every delivered one (or all of them): acknowledged with the next poll
            upTo = n == 0 ? (dropped ? s.get(s.size() - 1) : 0) : droppedBefore;
        }
    }

    static Inbox inbox(Fibril f, String channel, String cap) {
        String key = INBOX + channel + "|" + (cap == null ? "" : cap);
        Inbox in = (Inbox) f.locals().get(key);
        if (in == null || !f.id().equals(in.owner)) {
            Inbox fresh = new Inbox();
            fresh.owner = f.id();
            // a clone: the original's messages and lease stay the original's; what it consumed
            // before the fork is not delivered to the clone should it come back
            if (in != null) {
                fresh.seqs = java.util.Arrays.copyOf(in.seqs, in.next);
                fresh.next = in.next;
            }
            f.locals().put(key, fresh);
            in = fresh;
        }
        return in;
    }

    /** What a poll brought. */
    private record Polled(String channel, String cap, Mantle.Received got) {}

    private static final Suspension.ToJs RECEIVED = (cx, scope, v) -> {
        Fibril f = Fibril.current(cx);
        // handed over in memory: no seq, nothing leased, nothing to acknowledge
        if (v instanceof LocalRendezvous.Handed h) return f.nucleus().toJs(cx, scope, h.value());
        Polled p = (Polled) v;
        Inbox in = inbox(f, p.channel(), p.cap());
        in.batch = Math.min(BATCH, Math.max(1, in.batch) * 2);
        in.fill(p.got().seqs(), p.got().values(), p.got().leaseId());
        if (!in.buffered()) return null; // closed and drained
        return f.nucleus().toJs(cx, scope, in.take());
    };

    /**
     * A receive with an empty inbox: first a wait for a handover in memory when a fibril of this
     * node may send one (see {@link LocalRendezvous}), then, if none came, a poll. A fibril asked
     * to move meanwhile receives again where it goes.
     */
    CompletableFuture<Object> receive(Fibril f, String channel, String cap) {
        CompletableFuture<Object> local = rendezvous.await(f, channel, cap);
        if (local == null) return pollCounted(f, channel, cap);
        return local.thenCompose(v -> {
            if (v instanceof LocalRendezvous.Handed) return CompletableFuture.completedFuture(v);
            if (f.transfer() != null) return CompletableFuture.completedFuture(Suspension.AGAIN);
            return pollCounted(f, channel, cap);
        });
    }

    /** A poll that senders of this node know of: while it runs, they take their messages to the service. */
    private CompletableFuture<Object> pollCounted(Fibril f, String channel, String cap) {
        Runnable ended = rendezvous.polling(channel);
        return poll(f.mantle(), f, channel, cap).whenComplete((v, e) -> ended.run());
    }

    /**
     * Acknowledges what the fibril consumed of its lease (it asks for more: the state that
     * consumed it is the one that goes on) in the same request as the poll, and polls until a
     * message comes or the channel is closed and drained. Between two polls, if the fibril is asked
     * to move, it stops with {@link Suspension#AGAIN}: the receive starts again where the fibril
     * goes; a poll in flight is never cut.
     */
    static CompletableFuture<Object> poll(Mantle mantle, Fibril f, String channel, String cap) {
        Inbox in = inbox(f, channel, cap);
        int max = Math.max(1, Math.min(BATCH, in.batch));
        LocalRendezvous rendezvous = f.nucleus().modules().chan().rendezvous;
        BooleanSupplier ended = () -> f.state().ended() || f.state() == Fibril.State.ENDING;
        return pollAgain(mantle, channel, cap, max, in.upTo, in.lease, in, () -> f.transfer() != null, ended)
                .whenComplete((v, e) -> {
                    // the service let this receiver through: it may take handovers in memory for a while
                    if (v instanceof Polled p && p.got().closed()) rendezvous.closed(channel);
                    else if (e == null) rendezvous.receiverAccepted(channel, cap, f.caller());
                });
    }

    private static CompletableFuture<Object> pollAgain(Mantle mantle, String channel, String cap, int max, long ackUpTo, long ackLease,
                                                       Inbox in, BooleanSupplier stop, BooleanSupplier ended) {
        return mantle.receive(channel, cap, POLL_SECONDS, max, LEASE_SECONDS, ackUpTo, ackLease).thenCompose(r -> {
            if (r.leaseId() != 0 && ended.getAsBoolean()) {
                // the fibril was killed while this poll waited: what it took goes to the other receivers now, not in LEASE_SECONDS
                return mantle.ack(channel, cap, 0, true, r.leaseId()).handle((v, e) -> (Object) Suspension.AGAIN);
            }
            boolean fresh = r.seqs().stream().anyMatch(s -> !in.consumed(s));
            if (fresh || r.closed()) return CompletableFuture.completedFuture((Object) new Polled(channel, cap, r));
            // only what this fibril consumed came back: acknowledged with the next poll, under the lease it came in
            long upTo = r.seqs().isEmpty() ? 0 : r.seqs().get(r.seqs().size() - 1);
            if (stop.getAsBoolean()) {
                if (upTo > 0) {
                    in.lease = r.leaseId();
                    in.upTo = upTo;
                }
                return CompletableFuture.completedFuture(Suspension.AGAIN);
            }
            return pollAgain(mantle, channel, cap, max, upTo, r.leaseId(), in, stop, ended);
        });
    }

    /** A receive, started again on the node a fibril moves to (its inbox came along in its locals). */
    record RecvAgain(String channel, String cap) implements Suspension.Restart {
        @Override
        public Suspension start(Nucleus nucleus, Fibril f) {
            return new Suspension("recv", nucleus.modules().chan().receive(f, channel, cap), RECEIVED, true, this);
        }

        @Override public boolean cutAnyTime() { return false; }
    }

    /**
     * At a fibril's end: acknowledges what it consumed, and gives back at once what it took and
     * did not consume (else the next receiver would wait for the lease to run out).
     */
    CompletableFuture<Void> settle(Fibril f) {
        List<CompletableFuture<?>> acks = new ArrayList<>();
        Mantle mantle = f.mantle();
        for (var e : f.locals().entrySet()) {
            if (!(e.getValue() instanceof Inbox in) || !e.getKey().startsWith(INBOX) || !f.id().equals(in.owner)) continue;
            if (in.upTo == 0 && !in.buffered()) continue;
            String[] chCap = e.getKey().substring(INBOX.length()).split("\\|", 2);
            String cap = chCap[1].isEmpty() ? null : chCap[1];
            boolean release = in.buffered();
            long upTo = in.upTo, lease = in.lease;
            acks.add(modules.nucleus().retry(() -> mantle.ack(chCap[0], cap, upTo, release, lease), 5, 200));
        }
        return CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new));
    }

    // --- endpoints --------------------------------------------------------------------------

    Endpoint endpoint(String channel, String end, String cap) {
        Endpoint ep = new Endpoint(channel, end, cap);
        ep.setPrototype(endpointProto);
        ep.setParentScope(shared);
        ep.sealObject();
        return ep;
    }

    private static Endpoint endpoint(Scriptable thisObj, String method) {
        if (thisObj instanceof Endpoint ep) return ep;
        throw ScriptRuntime.typeError(method + "() must be called on a channel endpoint");
    }
}
