package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.nucleus.Fibril;
import dev.andromeda.fibril.nucleus.Nucleus;
import dev.andromeda.fibril.nucleus.Suspension;
import java.util.function.BooleanSupplier;
import org.mozilla.javascript.ContinuationPending;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import org.mozilla.javascript.Undefined;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code chan}: channels and their endpoints. {@code chan.open(type?)} gives [send, recv];
 * {@code send(v)} waits until the channel service has the message; {@code recv()} waits for the
 * next one (long polls of 30 s, again and again) and answers null once the channel is closed and
 * drained.
 */
final class ChanModule {

    static final int POLL_SECONDS = 30;

    private final Modules modules;
    private final ScriptableObject object;
    private final ScriptableObject endpointProto;
    private final Scriptable shared;

    ChanModule(Modules modules, Context cx, Scriptable shared) {
        this.modules = modules;
        this.shared = shared;
        Mantle mantle = modules.nucleus().mantle();

        endpointProto = modules.module(cx);
        modules.suspending(cx, endpointProto, "send", 1, (f, c, thisObj, args) -> {
            Endpoint ep = endpoint(thisObj, "send");
            if (!ep.sends()) throw ScriptRuntime.typeError("this endpoint receives from /ch/" + ep.channel() + "; it cannot send");
            JsonNode value = modules.outgoing(Args.at(args, 0), "the message");
            String key = f.id() + ":" + f.nextSeq();
            throw f.suspend(c, "send", () -> mantle.send(ep.channel(), ep.cap(), value, key, 0), (cx2, scope, v) -> Undefined.instance);
        });
        modules.suspending(cx, endpointProto, "recv", 0, (f, c, thisObj, args) -> {
            Endpoint ep = endpoint(thisObj, "recv");
            if (ep.sends()) throw ScriptRuntime.typeError("this endpoint sends on /ch/" + ep.channel() + "; it cannot receive");
            throw recv(f, c, ep);
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
            throw f.suspend(c, "chan.open", () -> mantle.openChannel(spec), (cx2, scope, v) -> {
                Mantle.Opened o = (Mantle.Opened) v;
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

    private static final Suspension.ToJs RECEIVED = (cx, scope, v) -> {
        Optional<?> got = (Optional<?>) v;
        return got.isEmpty() ? null : Fibril.current(cx).nucleus().toJs(cx, scope, (JsonNode) got.get());
    };

    private ContinuationPending recv(Fibril f, Context c, Endpoint ep) {
        Mantle mantle = modules.nucleus().mantle();
        return f.suspend(c, "recv", () -> receive(mantle, ep.channel(), ep.cap(), () -> f.transfer() != null), RECEIVED,
                new RecvAgain(ep.channel(), ep.cap()));
    }

    /**
     * A receive, started again on the node a fibril moves to. It is never cut while a poll is in
     * flight (the poll may be taking a message): the poll loop stops between two polls instead.
     */
    record RecvAgain(String channel, String cap) implements Suspension.Restart {
        @Override
        public Suspension start(Nucleus nucleus, Fibril f) {
            return new Suspension("recv", receive(nucleus.mantle(), channel, cap, () -> f.transfer() != null), RECEIVED, true, this);
        }

        @Override public boolean cutAnyTime() { return false; }
    }

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

    /**
     * Polls until a message comes or the channel is closed and empty (then: empty). Between two
     * polls, if the fibril is asked to move, it stops with {@link Suspension#AGAIN}: the receive
     * starts again where the fibril goes, and no message taken here is left behind.
     */
    static CompletableFuture<Object> receive(Mantle mantle, String channel, String cap, BooleanSupplier stop) {
        return mantle.receive(channel, cap, POLL_SECONDS, 1, 0).thenCompose(r -> {
            if (!r.values().isEmpty()) return CompletableFuture.completedFuture((Object) Optional.ofNullable(r.values().get(0)));
            if (r.closed()) return CompletableFuture.completedFuture((Object) Optional.<JsonNode>empty());
            if (stop.getAsBoolean()) return CompletableFuture.completedFuture(Suspension.AGAIN);
            return receive(mantle, channel, cap, stop);
        });
    }
}
