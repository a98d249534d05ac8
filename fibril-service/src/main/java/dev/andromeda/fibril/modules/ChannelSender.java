package dev.andromeda.fibril.modules;

import dev.andromeda.common.channel.ChannelTypes;
import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.nucleus.Suspension;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * How the fibrils of one node send on channels. A sync send completes when a receiver took the
 * message; a send on an async channel with a capacity when the message is durable (so a full
 * channel holds its sender back); the fibril stays parked meanwhile and no thread waits for it.
 * A send on an async channel without a capacity goes on at once, as a Kafka producer's
 * {@code send()} does: the message waits in the node's lane for the next batch (see
 * {@link #offer}), the fibril hears of a failure at its next send, and neither its move nor its
 * end happens before its messages are durable (see {@link ChanModule}). A lane that holds
 * {@value #LANE_MESSAGES} messages makes its senders wait for durability again: back-pressure.
 * <ul>
 * <li><b>Retries never double.</b> A send keeps its idempotency key through every retry: a 5xx,
 *     an unreachable or slow service is retried with growing pauses; a 429 (a full channel) is
 *     retried after the Retry-After it came with; a 408 of a sync send (no receiver took it, so it
 *     was withdrawn and its key freed) is sent again at once, until a receiver takes it.</li>
 * <li><b>Group commit.</b> Async sends to one channel from all fibrils of the node go as one
 *     NDJSON POST: the first goes at once; those that arrive while a POST is in flight go together
 *     in the next one, under a key of their own (so a retried batch is taken once, whole). One POST
 *     at a time per lane: two in flight could be taken in either order, and a fibril's messages
 *     may be in both. A send alone keeps its fibril's key. A batch the service refuses as a whole
 *     for what one message is (a wrong type, too large) is sent again one by one, so only that
 *     message's sender fails.</li>
 * <li><b>In memory between co-located ends.</b> A sync send is handed straight to a fibril of this
 *     node that waits for it, when {@link LocalRendezvous} allows; else it goes to the service.</li>
 * </ul>
 * Sends of one fibril are one at a time (it waits for each), so each sender's FIFO holds.
 */
final class ChannelSender {

    /**
     * Seconds a sync send waits at the service for a receiver before it is withdrawn and sent
     * again; between two such waits a fibril asked to move stops and sends again from its new node.
     */
    static final int SYNC_WAIT = 10;
    static final int MAX_BATCH = 5000;
    static final long MAX_BATCH_BYTES = 4L * 1024 * 1024;
    /** POSTs in flight per lane (see the class comment for why one). */
    static final int IN_FLIGHT = 1;
    /** Messages (and bytes) a lane holds before its senders wait for durability. */
    static final int LANE_MESSAGES = 20_000;
    static final long LANE_BYTES = 16L * 1024 * 1024;
    private static final int MAX_FAILURES = 12;
    private static final long FIRST_PAUSE_MS = 100;
    private static final long MAX_PAUSE_MS = 5000;

    /** A channel's mode, type and capacity (null: none): they never change. */
    record Mode(boolean sync, JsonNode type, Integer capacity) {
        /** An async channel without a capacity: a send goes on before its message is durable. */
        boolean buffered() { return !sync && capacity == null; }
    }

    private final Supplier<ScheduledExecutorService> timers;
    private final String node;
    private final LocalRendezvous rendezvous;
    private final ChannelTypes types;
    /** channel → its mode, learnt once per node (known at once for channels opened here). */
    private final Map<String, CompletableFuture<Mode>> modes = new ConcurrentHashMap<>();
    private final Map<String, Lane> lanes = new ConcurrentHashMap<>();

    /** {@code timers}: the node's (asked when needed: the node makes them after its modules). */
    ChannelSender(Supplier<ScheduledExecutorService> timers, String node, LocalRendezvous rendezvous, ChannelTypes types) {
        this.timers = timers;
        this.node = node;
        this.rendezvous = rendezvous;
        this.types = types;
    }

    /** A channel opened on this node: its mode is known without asking. */
    void opened(String channel, boolean isSync, JsonNode type, Integer capacity) {
        if (modes.size() > 100_000) modes.clear();
        modes.put(channel, CompletableFuture.completedFuture(new Mode(isSync, type, capacity)));
    }

    /**
     * Queues an async send without waiting for it, when the channel's mode is known, it has no
     * capacity and its lane has room: true, and {@code durable} gets the future of the message's
     * durability. False: the fibril sends with {@link #send} and waits.
     */
    boolean offer(Mantle mantle, Object who, String channel, String cap, Modules.Outgoing value, String key,
                  java.util.function.Consumer<CompletableFuture<JsonNode>> durable) {
        CompletableFuture<Mode> known = modes.get(channel);
        if (known == null || !known.isDone() || known.isCompletedExceptionally() || !known.join().buffered()) return false;
        // one of the wrong type waits for the service's 422, so that the send that made it throws it
        if (!fits(known.join().type(), value.json())) return false;
        String k = laneKey(channel, cap, who);
        while (true) {
            Lane lane = lanes.computeIfAbsent(k, x -> new Lane(k, mantle, channel, cap));
            CompletableFuture<JsonNode> done = lane.submit(value, key, true);
            if (done == Lane.FULL) return false;
            if (done != null) {
                durable.accept(done);
                return true;
            }
            // that lane had just gone idle and retired: the next one takes it
        }
    }

    /**
     * Sends {@code value} with the fibril's {@code key}; completes when it is durable (async) or
     * taken (sync). {@code abandoned} says the fibril is gone (killed): a sync send stops retrying.
     * {@code mantle} acts for {@code who} (the fibril's spawner): sends group-commit only with
     * sends made for the same identity, so a batch never carries one user's message as another's.
     */
    CompletableFuture<Object> send(Mantle mantle, Object who, String channel, String cap, Modules.Outgoing value, String key,
                                   BooleanSupplier abandoned, BooleanSupplier moving,
                                   java.util.function.Consumer<CompletableFuture<JsonNode>> durable) {
        return mode(mantle, channel, cap).thenCompose(m -> {
            if (m.sync()) return rendezvous(mantle, who, channel, cap, m.type(), value, key, abandoned, moving);
            // the first send of a channel learnt its mode just now: it goes on as the next ones will
            if (offer(mantle, who, channel, cap, value, key, durable)) return CompletableFuture.completedFuture(QUEUED);
            return submit(mantle, who, channel, cap, value, key).thenApply(v -> (Object) v);
        });
    }

    /** What a send that went on before its message was durable answers. */
    private static final JsonNode QUEUED = JsonNodeFactory.instance.objectNode().put("queued", true);

    /** A sync send: handed over in memory when a receiver of this node waits for it, else a rendezvous at the service. */
    private CompletableFuture<Object> rendezvous(Mantle mantle, Object who, String channel, String cap, JsonNode type, Modules.Outgoing out,
                                                 String key, BooleanSupplier abandoned, BooleanSupplier moving) {
        JsonNode value = out.json();
        return rendezvous.handOver(channel, cap, who, type, value, out.text()).thenCompose(taken -> {
            if (taken) return CompletableFuture.completedFuture((Object) HANDED);
            rendezvous.atService(channel);
            CompletableFuture<JsonNode> sent = new CompletableFuture<>();
            attempt(() -> mantle.send(channel, cap, value, key, SYNC_WAIT), abandoned, true, moving, 0, FIRST_PAUSE_MS, sent);
            return sent.whenComplete((v, e) -> {
                rendezvous.backFromService(channel);
                if (e == null) rendezvous.senderAccepted(channel, cap, who);
                else if (unwrap(e) instanceof M31Problem p && p.status() == 410) rendezvous.closed(channel);
            }).handle((v, e) -> {
                // withdrawn (its key freed) while its fibril was asked to move: it is sent again from the new node
                if (e != null && unwrap(e) == MOVING) return CompletableFuture.completedFuture(Suspension.AGAIN);
                return e == null ? CompletableFuture.completedFuture((Object) v) : CompletableFuture.<Object>failedFuture(unwrap(e));
            }).thenCompose(x -> x);
        });
    }

    /** How a sync send's retries end when its fibril is asked to move between two waits at the service. */
    private static final RuntimeException MOVING = new RuntimeException("moving", null, false, false) { };

    /** What a send handed over in memory answers (a send's answer is not shown to the script). */
    private static final JsonNode HANDED = JsonNodeFactory.instance.objectNode().put("taken", "in memory");

    private CompletableFuture<JsonNode> submit(Mantle mantle, Object who, String channel, String cap, Modules.Outgoing value, String key) {
        String k = laneKey(channel, cap, who);
        while (true) {
            CompletableFuture<JsonNode> done = lanes.computeIfAbsent(k, x -> new Lane(k, mantle, channel, cap)).submit(value, key, false);
            if (done != null) return done;
            // that lane had just gone idle and retired: the next one takes it
        }
    }

    private boolean fits(JsonNode type, JsonNode value) {
        if (type == null) return true; // not known here: the service decides, and the fibril hears it at its next send
        try {
            types.check(type, value);
            return true;
        } catch (RuntimeException wrong) {
            return false;
        }
    }

    private static String laneKey(String channel, String cap, Object who) {
        return channel + "|" + (cap == null ? "" : cap) + "|" + (who == null ? "" : who);
    }

    private CompletableFuture<Mode> mode(Mantle mantle, String channel, String cap) {
        CompletableFuture<Mode> known = modes.get(channel);
        if (known != null) return known;
        CompletableFuture<Mode> asked = robust(() -> mantle.describeChannel(channel, cap), () -> false, false)
                .thenApply(ch -> new Mode("sync".equals(ch.path("mode").asString()), ch.get("type"),
                        ch.hasNonNull("capacity") ? ch.get("capacity").asInt() : null));
        if (modes.size() > 100_000) modes.clear();
        CompletableFuture<Mode> raced = modes.putIfAbsent(channel, asked);
        // a refusal (403, 404) is not remembered: the next sender may hold a better cap
        asked.whenComplete((v, e) -> { if (e != null) modes.remove(channel, asked); });
        return raced != null ? raced : asked;
    }

    // --- group commit ---------------------------------------------------------------------

    private record Pending(Modules.Outgoing message, String key, CompletableFuture<JsonNode> done) {
        JsonNode value() { return message.json(); }
        int bytes() { return message.text().length(); }
    }

    /** The sends of this node to one channel (through one cap, for one identity): at most {@link #IN_FLIGHT} POSTs in flight. */
    private final class Lane {
        private final String laneKey;
        private final Mantle mantle;
        private final String channel;
        private final String cap;
        /** What {@link #submit} answers when {@code ifRoom} and the lane is full. */
        static final CompletableFuture<JsonNode> FULL = new CompletableFuture<>();
        private final ArrayDeque<Pending> waiting = new ArrayDeque<>();
        private long waitingBytes;
        private int inFlight;
        /** Idle and out of the map (a node sends to many channels over its life): a sender must take a new lane. */
        private boolean retired;

        Lane(String laneKey, Mantle mantle, String channel, String cap) {
            this.laneKey = laneKey;
            this.mantle = mantle;
            this.channel = channel;
            this.cap = cap;
        }

        /** Null when this lane retired meanwhile; {@link #FULL} when {@code ifRoom} and it holds its most. */
        CompletableFuture<JsonNode> submit(Modules.Outgoing value, String key, boolean ifRoom) {
            Pending p = new Pending(value, key, new CompletableFuture<>());
            boolean go;
            synchronized (this) {
                if (retired) return null;
                if (ifRoom && (waiting.size() >= LANE_MESSAGES || waitingBytes + p.bytes() > LANE_BYTES)) return FULL;
                waiting.add(p);
                waitingBytes += p.bytes();
                go = inFlight < IN_FLIGHT;
                if (go) inFlight++;
            }
            if (go) flush();
            return p.done();
        }

        /** Posts what waits (up to a batch), then again when that is durable, until nothing waits. */
        private void flush() {
            List<Pending> batch = new ArrayList<>();
            synchronized (this) {
                long bytes = 0;
                while (!waiting.isEmpty() && batch.size() < MAX_BATCH && (batch.isEmpty() || bytes + waiting.peek().bytes() <= MAX_BATCH_BYTES)) {
                    Pending p = waiting.poll();
                    bytes += p.bytes();
                    waitingBytes -= p.bytes();
                    batch.add(p);
                }
                if (batch.isEmpty()) {
                    if (--inFlight == 0) {
                        retired = true;
                        lanes.remove(laneKey, this);
                    }
                    return;
                }
            }
            CompletableFuture<?> posted;
            if (batch.size() == 1) {
                posted = one(batch.get(0));
            } else {
                List<String> lines = new ArrayList<>(batch.size());
                for (Pending p : batch) lines.add(p.message().text());
                String batchKey = node + ":b:" + UUID.randomUUID();
                posted = robust(() -> mantle.sendLines(channel, cap, lines, batchKey), () -> false, false).handle((answer, err) -> {
                    if (err == null) {
                        for (Pending p : batch) p.done().complete(answer);
                        return CompletableFuture.completedFuture(null);
                    }
                    if (aboutOneMessage(err)) {
                        // one message spoilt the batch: each goes alone, and only its sender hears why
                        List<CompletableFuture<?>> each = new ArrayList<>();
                        for (Pending p : batch) each.add(one(p));
                        return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new));
                    }
                    for (Pending p : batch) p.done().completeExceptionally(unwrap(err));
                    return CompletableFuture.completedFuture(null);
                }).thenCompose(x -> x);
            }
            posted.whenComplete((v, e) -> flush());
        }

        private CompletableFuture<?> one(Pending p) {
            return robust(() -> mantle.send(channel, cap, p.value(), p.key(), 0), () -> false, false)
                    .whenComplete((answer, err) -> {
                        if (err == null) p.done().complete(answer);
                        else p.done().completeExceptionally(unwrap(err));
                    })
                    .exceptionally(e -> null);
        }
    }

    /** A whole batch refused for what is in it (type, size, more than the capacity), not for the channel itself. */
    private static boolean aboutOneMessage(Throwable err) {
        return unwrap(err) instanceof M31Problem p && (p.status() == 400 || p.status() == 413 || p.status() == 422);
    }

    // --- retries ----------------------------------------------------------------------------

    /**
     * Runs {@code op} until it succeeds: 429 after its Retry-After, 5xx and unreachable with
     * growing pauses (up to {@value #MAX_FAILURES} of them), 408 again at once when
     * {@code again408} (a withdrawn sync send); any other 4xx is final.
     */
    <T> CompletableFuture<T> robust(Supplier<CompletableFuture<T>> op, BooleanSupplier abandoned, boolean again408) {
        CompletableFuture<T> out = new CompletableFuture<>();
        attempt(op, abandoned, again408, () -> false, 0, FIRST_PAUSE_MS, out);
        return out;
    }

    private <T> void attempt(Supplier<CompletableFuture<T>> op, BooleanSupplier abandoned, boolean again408, BooleanSupplier moving,
                             int failures, long pause, CompletableFuture<T> out) {
        CompletableFuture<T> f;
        try {
            f = op.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((v, e) -> {
            if (e == null) {
                out.complete(v);
                return;
            }
            Throwable t = unwrap(e);
            int status = t instanceof M31Problem p ? p.status() : 503;
            if (abandoned.getAsBoolean() || timers.get().isShutdown()) {
                out.completeExceptionally(t);
            } else if (status == 408 && again408) {
                if (moving.getAsBoolean()) out.completeExceptionally(MOVING);
                else attempt(op, abandoned, again408, moving, failures, pause, out);
            } else if (status == 429) {
                int s = t instanceof ServiceClient.RemoteProblem rp && rp.retryAfterSeconds() >= 0 ? rp.retryAfterSeconds() : 1;
                later(() -> attempt(op, abandoned, again408, moving, failures, pause, out), Math.max(50, s * 1000L));
            } else if ((status >= 500 || status == 408) && failures < MAX_FAILURES) {
                later(() -> attempt(op, abandoned, again408, moving, failures + 1, Math.min(pause * 2, MAX_PAUSE_MS), out), pause);
            } else {
                out.completeExceptionally(t);
            }
        });
    }

    private void later(Runnable r, long ms) {
        try {
            timers.get().schedule(r, ms, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
            // the node is closing: its fibrils go with it
        }
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) t = t.getCause();
        return t;
    }
}
