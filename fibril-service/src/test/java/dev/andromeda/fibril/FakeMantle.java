package dev.andromeda.fibril;

import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.common.id.Ids;
import dev.andromeda.fibril.mantle.Mantle;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * An in-memory mantle (our own store, channel, naming and scheduler services, not engines), so
 * the nucleus can be tested alone. It keeps the wire contracts' semantics that matter to the
 * nucleus: idempotent invoke batches, FIFO channels with long-poll, idempotent sends.
 */
public final class FakeMantle implements Mantle {

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    /**
     * A channel: FIFO values with their seqs, waiting receivers, seen idempotency keys, and the
     * capabilities of its two ends when it was opened with "capabilities": true.
     */
    private static final class Chan {
        final ArrayDeque<JsonNode> values = new ArrayDeque<>();
        final ArrayDeque<Long> seqs = new ArrayDeque<>();
        final ArrayDeque<CompletableFuture<Received>> waiters = new ArrayDeque<>();
        /** The max each waiting receive asked for: it gets no more than that, as at the real service. */
        final Map<CompletableFuture<Received>, Integer> waiterMax = new HashMap<>();
        final Map<CompletableFuture<Received>, Integer> waiterLease = new HashMap<>();
        final Set<String> keys = ConcurrentHashMap.newKeySet();
        /** Sync sends waiting for a receiver to take their seq, as at the real service. */
        final Map<Long, CompletableFuture<JsonNode>> untaken = new HashMap<>();
        final String sendCap;
        final String recvCap;
        final boolean sync;
        long next;
        long acked;
        boolean closed;

        Chan(boolean capabilities, boolean sync) {
            this.sync = sync;
            sendCap = capabilities ? "s0." + java.util.UUID.randomUUID() : null;
            recvCap = capabilities ? "r0." + java.util.UUID.randomUUID() : null;
        }

        void check(String cap, String want, String end) {
            if (want != null && !want.equals(cap)) {
                throw new ServiceClient.RemoteProblem(403, cap == null ? "the channel needs a " + end + " capability" : "not a " + end + " capability of the channel", "cap", "fake");
            }
        }

        /** Leased messages, each lease on its own as at the service; what a lease gives back goes first. */
        final TreeMap<Long, JsonNode> returned = new TreeMap<>();
        final Map<Long, TreeMap<Long, JsonNode>> leases = new HashMap<>();
        final Map<Long, Long> leaseUntil = new HashMap<>();
        long nextLease = 1;
        /** seq → how many times it was acknowledged (auto, or by an ack): exactly once is 1 each. */
        final Map<Long, Integer> ackCounts = new TreeMap<>();

        Received take(int max, int leaseSeconds) {
            expire();
            List<JsonNode> out = new ArrayList<>();
            List<Long> s = new ArrayList<>();
            while (!returned.isEmpty() && out.size() < max) {
                var e = returned.pollFirstEntry();
                s.add(e.getKey());
                out.add(e.getValue());
            }
            while (!values.isEmpty() && out.size() < max) {
                out.add(values.poll());
                s.add(seqs.poll());
                CompletableFuture<JsonNode> sender = untaken.remove(s.get(s.size() - 1));
                if (sender != null) sender.complete(F.objectNode().put("taken", true));
            }
            if (leaseSeconds <= 0 || out.isEmpty()) {
                s.forEach(seq -> ackCounts.merge(seq, 1, Integer::sum));
                return new Received(out, s, false);
            }
            long id = nextLease++;
            TreeMap<Long, JsonNode> held = new TreeMap<>();
            for (int i = 0; i < s.size(); i++) held.put(s.get(i), out.get(i));
            leases.put(id, held);
            leaseUntil.put(id, System.nanoTime() + TimeUnit.SECONDS.toNanos(leaseSeconds));
            return new Received(out, s, false, id);
        }

        /** Leases that ran out give their messages back. */
        void expire() {
            long now = System.nanoTime();
            for (var it = leaseUntil.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (now - e.getValue() <= 0) continue;
                it.remove();
                returned.putAll(leases.remove(e.getKey()));
            }
        }

        /**
         * A lease's seqs up to upTo, or with leaseId 0 the whole cursor's. An unknown or expired lease
         * acknowledges nothing here (the service still takes a late ack for what nobody took since).
         */
        void ack(long upTo, boolean release, long leaseId) {
            expire();
            List<Long> ids = leaseId != 0 ? List.of(leaseId) : List.copyOf(leases.keySet());
            for (long id : ids) {
                TreeMap<Long, JsonNode> held = leases.get(id);
                if (held == null) continue;
                var done = held.headMap(upTo, true);
                done.keySet().forEach(seq -> ackCounts.merge(seq, 1, Integer::sum));
                done.clear();
                if (release || held.isEmpty()) {
                    returned.putAll(held);
                    leases.remove(id);
                    leaseUntil.remove(id);
                }
            }
            if (leaseId == 0) {
                var done = returned.headMap(upTo, true);
                done.keySet().forEach(seq -> ackCounts.merge(seq, 1, Integer::sum));
                done.clear();
            }
        }
    }

    /** Every ack the nucleus made: channel → the last upTo (what it acknowledged as consumed). */
    final Map<String, Long> acks = new ConcurrentHashMap<>();
    /** When set, the seconds every manual receive is leased for (instead of what it asks). */
    volatile int leaseSeconds;
    /** NDJSON batches sent (their sizes), to see group commit at work. */
    final List<Integer> batches = new CopyOnWriteArrayList<>();
    /** The idempotency key of every send attempt, retries included. */
    final List<String> sendKeys = new CopyOnWriteArrayList<>();
    /** The next sends fail: with 503 (the answer lost after the message was taken), or 429 (full, Retry-After 1). */
    final AtomicInteger failNextSendsAfterTaking = new AtomicInteger();
    final AtomicInteger fullNextSends = new AtomicInteger();
    /** The next sync sends are withdrawn: 408, as when no receiver took them in time (the message is not enqueued). */
    final AtomicInteger withdrawNextSyncSends = new AtomicInteger();
    /** The next sends are refused with 410, as when the channel was closed. */
    final AtomicInteger goneNextSends = new AtomicInteger();
    /** When set, how long a sync send waits for a receiver (instead of the seconds it asks for). */
    volatile long syncWaitMs;
    /** How long every send (one or a batch) takes at the fake service. */
    volatile long sendDelayMs;
    /** Values the fake channel service refuses as of the wrong type (422): a batch holding one is refused whole. */
    volatile java.util.function.Predicate<JsonNode> wrongType = v -> false;
    final AtomicInteger refusedBatches = new AtomicInteger();
    /** The max of every receive, in order. */
    final List<Integer> receiveMaxes = new CopyOnWriteArrayList<>();
    /** The sync wait each send asked for. */
    final List<Integer> syncWaits = new CopyOnWriteArrayList<>();

    final Map<String, String> code = new ConcurrentHashMap<>();
    final Map<String, SpaceInfo> spaces = new ConcurrentHashMap<>();
    final Map<String, Map<String, ObjectNode>> objects = new ConcurrentHashMap<>();
    final Set<String> appliedBatches = ConcurrentHashMap.newKeySet();
    final List<String> batchAttempts = new CopyOnWriteArrayList<>();
    final AtomicInteger failNextInvokes = new AtomicInteger();
    final Map<String, Chan> channels = new ConcurrentHashMap<>();
    final Set<String> bound = ConcurrentHashMap.newKeySet();
    final AtomicInteger heartbeats = new AtomicInteger();
    volatile Consumer<JsonNode> onSend = v -> { };
    volatile Function<JsonNode, JsonNode> spawner;

    /** One call made through {@link #as}: who it acted for, the method, its first argument. */
    record Call(String who, String method, String arg) {}

    /** Calls made as someone (through {@link #as}); calls on this mantle itself are the node's own. */
    final List<Call> callsAs = new CopyOnWriteArrayList<>();

    /** Where the signed identity header would carry the caller of a spawn, this fake puts it in the request. */
    static final String CALLER_FIELD = "_signedCaller";

    /**
     * This mantle acting for {@code who}, as the HTTP mantle signs its requests: every call is
     * recorded with who made it; a spawn carries who to the spawning node (the real scheduler
     * forwards the signed header; here a field of the request does).
     */
    @Override
    public Mantle as(dev.andromeda.common.security.Caller who) {
        if (who == null) return this;
        FakeMantle self = this;
        return (Mantle) java.lang.reflect.Proxy.newProxyInstance(Mantle.class.getClassLoader(), new Class<?>[] {Mantle.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("as")) return self.as((dev.andromeda.common.security.Caller) args[0]);
                    if (method.getDeclaringClass() == Object.class) return method.invoke(self, args);
                    callsAs.add(new Call(who.subject(), method.getName(), args == null || args.length == 0 ? null : String.valueOf(args[0])));
                    if (method.getName().equals("spawn")) {
                        ObjectNode req = ((ObjectNode) args[0]).deepCopy();
                        req.put(CALLER_FIELD, who.subject());
                        return self.spawn(req);
                    }
                    try {
                        return method.invoke(self, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fake-mantle-timer");
        t.setDaemon(true);
        return t;
    });
    /** Answers come from another thread, as over the network. */
    private final Executor net = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "fake-mantle-net");
        t.setDaemon(true);
        return t;
    });

    private <T> CompletableFuture<T> async(java.util.function.Supplier<T> s) {
        return CompletableFuture.supplyAsync(s, net);
    }

    private static ServiceClient.RemoteProblem problem(int status, String detail) {
        return new ServiceClient.RemoteProblem(status, detail, null, "fake");
    }

    @Override
    public CompletableFuture<String> putCode(String source) {
        return async(() -> {
            try {
                String fp = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source.getBytes(StandardCharsets.UTF_8)));
                code.put(fp, source);
                return fp;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Override
    public CompletableFuture<String> getCode(String fp) {
        return async(() -> {
            String s = code.get(fp);
            if (s == null) throw problem(404, "no code " + fp);
            return s;
        });
    }

    @Override
    public CompletableFuture<JsonNode> makeSpace(String space, JsonNode spec) {
        return async(() -> {
            spaces.putIfAbsent(space, new SpaceInfo(space, spec.path("key").asString()));
            objects.putIfAbsent(space, new ConcurrentHashMap<>());
            return F.objectNode().put("name", space).put("key", spec.path("key").asString());
        });
    }

    @Override
    public CompletableFuture<List<SpaceInfo>> listSpaces(String keyAttr) {
        return async(() -> spaces.values().stream().filter(s -> keyAttr == null || s.key().equals(keyAttr)).toList());
    }

    @Override
    public CompletableFuture<JsonNode> getObject(String space, String key) {
        return async(() -> {
            Map<String, ObjectNode> m = objects.get(space);
            if (m == null) throw problem(404, "no space " + space);
            ObjectNode o = m.get(key);
            return o == null ? null : o.deepCopy();
        });
    }

    @Override
    public CompletableFuture<JsonNode> putObject(String space, String key, JsonNode write) {
        onPut.accept(key);
        return async(() -> {
            Map<String, ObjectNode> m = objects.get(space);
            if (m == null) throw problem(404, "no space " + space);
            ObjectNode o = F.objectNode().put("key", key);
            o.set("attrs", write.path("attrs").deepCopy());
            m.put(key, o);
            return o.deepCopy();
        });
    }

    @Override
    public CompletableFuture<JsonNode> query(String space, List<Map.Entry<String, String>> params) {
        return async(() -> {
            Map<String, ObjectNode> m = objects.get(space);
            if (m == null) throw problem(404, "no space " + space);
            List<ObjectNode> all = new ArrayList<>(m.values());
            String sort = null;
            int limit = Integer.MAX_VALUE;
            for (Map.Entry<String, String> p : params) {
                String k = p.getKey();
                if (k.equals("sort")) { sort = p.getValue(); continue; }
                if (k.equals("limit")) { limit = Integer.parseInt(p.getValue()); continue; }
                String attr = k.contains(".") ? k.substring(0, k.indexOf('.')) : k;
                String op = k.contains(".") ? k.substring(k.indexOf('.') + 1) : "eq";
                double v = Double.parseDouble(p.getValue());
                all.removeIf(o -> {
                    double a = o.path("attrs").path(attr).asDouble();
                    return !switch (op) {
                        case "gt" -> a > v;
                        case "ge" -> a >= v;
                        case "lt" -> a < v;
                        case "le" -> a <= v;
                        case "ne" -> a != v;
                        default -> a == v;
                    };
                });
            }
            if (sort != null) {
                boolean desc = sort.startsWith("-");
                String attr = desc ? sort.substring(1) : sort;
                all.sort((a, b) -> {
                    int c = Double.compare(a.path("attrs").path(attr).asDouble(), b.path("attrs").path(attr).asDouble());
                    return desc ? -c : c;
                });
            }
            ArrayNode out = F.arrayNode();
            all.stream().limit(limit).forEach(o -> out.add(o.deepCopy()));
            return out;
        });
    }

    @Override
    public CompletableFuture<JsonNode> invoke(String space, JsonNode batch) {
        String id = batch.path("batchId").asString();
        batchAttempts.add(id);
        if (failNextInvokes.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            // the store applied nothing and the answer is lost: the caller must resend the same id
            return CompletableFuture.failedFuture(problem(503, "store unavailable (fake)"));
        }
        return async(() -> {
            Map<String, ObjectNode> m = objects.get(space);
            if (m == null) throw problem(404, "no space " + space);
            for (JsonNode inv : batch.path("invocations")) {
                // a batch is one statement: one refused invocation and nothing of it is applied
                if (inv.path("key").asString().startsWith("refuse")) throw problem(422, "refused key " + inv.path("key").asString());
            }
            boolean applied;
            synchronized (this) {
                applied = appliedBatches.add(id);
                if (applied) {
                    for (JsonNode inv : batch.path("invocations")) {
                        String key = inv.path("key").asString();
                        ObjectNode o = m.computeIfAbsent(key, k -> {
                            ObjectNode n = F.objectNode().put("key", k);
                            n.putObject("attrs");
                            return n;
                        });
                        ObjectNode attrs = (ObjectNode) o.get("attrs");
                        for (Map.Entry<String, JsonNode> op : inv.path("ops").properties()) {
                            String name = op.getValue().path("op").asString();
                            JsonNode n = op.getValue().path("n");
                            long cur = attrs.path(op.getKey()).asLong(0);
                            switch (name) {
                                case "incr" -> attrs.put(op.getKey(), cur + n.asLong());
                                case "decr" -> attrs.put(op.getKey(), cur - n.asLong());
                                case "set" -> attrs.set(op.getKey(), n.deepCopy());
                                default -> throw problem(400, "bad op " + name);
                            }
                        }
                    }
                }
            }
            return F.objectNode().put("batchId", id).put("applied", applied).put("keys", batch.path("invocations").size());
        });
    }

    /** The value of one attribute in the store (0 when absent). */
    public long value(String space, String key, String attr) {
        Map<String, ObjectNode> m = objects.get(space);
        ObjectNode o = m == null ? null : m.get(key);
        return o == null ? 0 : o.path("attrs").path(attr).asLong(0);
    }

    @Override
    public CompletableFuture<Opened> openChannel(JsonNode spec) {
        return async(() -> {
            String id = Ids.newId(Ids.CHANNEL);
            Chan c = new Chan(spec.path("capabilities").asBoolean(false), "sync".equals(spec.path("mode").asString()));
            channels.put(id, c);
            return new Opened(id, c.sendCap, c.recvCap);
        });
    }

    /** The capabilities of a channel's ends: [send, recv]. */
    String[] caps(String channel) {
        Chan c = channels.get(channel);
        return new String[] {c.sendCap, c.recvCap};
    }

    @Override
    public CompletableFuture<JsonNode> describeChannel(String channel, String cap) {
        return async(() -> {
            Chan c = channels.get(channel);
            if (c == null) throw problem(404, "no channel " + channel);
            return F.objectNode().put("id", channel).put("mode", c.sync ? "sync" : "async");
        });
    }

    @Override
    public CompletableFuture<JsonNode> send(String channel, String cap, JsonNode value, String key, int syncWait) {
        return async(() -> {
            Chan c = channels.get(channel);
            if (c == null) throw problem(404, "no channel " + channel);
            c.check(cap, c.sendCap, "send");
            sendKeys.add(String.valueOf(key));
            syncWaits.add(syncWait);
            delayAndMaybeGone();
            if (wrongType.test(value)) throw problem(422, "not of the channel's type");
            if (fullNextSends.getAndUpdate(n -> Math.max(0, n - 1)) > 0) throw full();
            if (c.sync && withdrawNextSyncSends.getAndUpdate(n -> Math.max(0, n - 1)) > 0) throw problem(408, "not taken; withdrawn");
            onSend.accept(value);
            JsonNode answer = enqueue(c, List.of(value), key);
            if (failNextSendsAfterTaking.getAndUpdate(n -> Math.max(0, n - 1)) > 0) throw problem(503, "the answer was lost");
            return answer;
        }).thenCompose(answer -> c(channel).sync && syncWait > 0 && answer.has("seq") ? taken(c(channel), answer.get("seq").asLong(), key, syncWait) : CompletableFuture.completedFuture(answer));
    }

    private Chan c(String channel) { return channels.get(channel); }

    /** A sync send answers once a receiver took it, or 408 after {@code syncWait} seconds (withdrawn, its key freed). */
    private CompletableFuture<JsonNode> taken(Chan c, long seq, String key, int syncWait) {
        CompletableFuture<JsonNode> done = new CompletableFuture<>();
        synchronized (c) {
            if (!c.seqs.contains(seq)) return CompletableFuture.completedFuture(F.objectNode().put("taken", true));
            c.untaken.put(seq, done);
        }
        timer.schedule(() -> {
            synchronized (c) {
                if (c.untaken.remove(seq) == null) return;
                List<Long> ss = new ArrayList<>(c.seqs);
                List<JsonNode> vs = new ArrayList<>(c.values);
                int i = ss.indexOf(seq);
                if (i >= 0) {
                    ss.remove(i);
                    vs.remove(i);
                    c.seqs.clear();
                    c.seqs.addAll(ss);
                    c.values.clear();
                    c.values.addAll(vs);
                }
                if (key != null) c.keys.remove(key);
            }
            done.completeExceptionally(problem(408, "not taken; withdrawn"));
        }, syncWaitMs > 0 ? syncWaitMs : syncWait * 1000L, TimeUnit.MILLISECONDS);
        return done;
    }

    @Override
    public CompletableFuture<JsonNode> sendBatch(String channel, String cap, List<JsonNode> values, String key) {
        return async(() -> {
            Chan c = channels.get(channel);
            if (c == null) throw problem(404, "no channel " + channel);
            c.check(cap, c.sendCap, "send");
            sendKeys.add(String.valueOf(key));
            delayAndMaybeGone();
            if (values.stream().anyMatch(wrongType)) {
                refusedBatches.incrementAndGet();
                throw problem(422, "[i] is not of the channel's type");
            }
            if (fullNextSends.getAndUpdate(n -> Math.max(0, n - 1)) > 0) throw full();
            values.forEach(onSend);
            batches.add(values.size());
            JsonNode answer = enqueue(c, values, key);
            if (failNextSendsAfterTaking.getAndUpdate(n -> Math.max(0, n - 1)) > 0) throw problem(503, "the answer was lost");
            return answer;
        });
    }

    private void delayAndMaybeGone() {
        if (sendDelayMs > 0) {
            try {
                Thread.sleep(sendDelayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (goneNextSends.getAndUpdate(n -> Math.max(0, n - 1)) > 0) throw problem(410, "channel closed");
    }

    private static ServiceClient.RemoteProblem full() {
        return new ServiceClient.RemoteProblem(429, "channel full", null, "fake", 1);
    }

    private JsonNode enqueue(Chan c, List<JsonNode> vs, String key) {
        synchronized (c) {
            if (c.closed) throw problem(410, "channel closed");
            if (key != null && !c.keys.add(key)) return F.objectNode().put("duplicate", true);
            for (JsonNode v : vs) {
                c.values.add(v);
                c.seqs.add(++c.next);
            }
            if (!c.waiters.isEmpty()) {
                CompletableFuture<Received> w = c.waiters.poll();
                Integer max = c.waiterMax.remove(w);
                Integer lease = c.waiterLease.remove(w);
                Received r = c.take(max == null ? Integer.MAX_VALUE : max, lease == null ? 0 : lease);
                net.execute(() -> w.complete(r));
            }
            return F.objectNode().put("duplicate", false).put("seq", c.next - vs.size() + 1).put("last", c.next);
        }
    }

    @Override
    public CompletableFuture<Received> receive(String channel, String cap, int waitSeconds, int max, int leaseSeconds, long ackUpTo, long ackLease) {
        Chan c = channels.get(channel);
        if (c == null) return CompletableFuture.failedFuture(problem(404, "no channel " + channel));
        try {
            c.check(cap, c.recvCap, "recv");
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (ackUpTo > 0) acks.merge(channel, ackUpTo, Math::max);
        receiveMaxes.add(max);
        int lease = leaseSeconds > 0 && this.leaseSeconds > 0 ? this.leaseSeconds : leaseSeconds;
        synchronized (c) {
            if (ackUpTo > 0 && leaseSeconds > 0) c.ack(ackUpTo, false, ackLease);
            c.expire();
            if (!c.values.isEmpty() || !c.returned.isEmpty()) return CompletableFuture.completedFuture(c.take(max, lease));
            if (c.closed || waitSeconds == 0) return CompletableFuture.completedFuture(new Received(List.of(), List.of(), c.closed));
            CompletableFuture<Received> w = new CompletableFuture<>();
            c.waiters.add(w);
            c.waiterMax.put(w, max);
            c.waiterLease.put(w, lease);
            timer.schedule(() -> {
                synchronized (c) {
                    c.waiterMax.remove(w);
                    c.waiterLease.remove(w);
                    if (c.waiters.remove(w)) w.complete(new Received(List.of(), List.of(), c.closed));
                }
            }, waitSeconds, TimeUnit.SECONDS);
            return w;
        }
    }

    @Override
    public CompletableFuture<Long> ack(String channel, String cap, long upTo, boolean release, long leaseId) {
        return async(() -> {
            Chan c = channels.get(channel);
            if (c == null) throw problem(404, "no channel " + channel);
            c.check(cap, c.recvCap, "recv");
            synchronized (c) {
                c.ack(upTo, release, leaseId);
            }
            acks.merge(channel, upTo, Math::max);
            return acks.get(channel);
        });
    }

    /** The channel service restarts: every lease is forgotten and what it held is handed out again. */
    void forgetLeases(String channel) {
        Chan c = channels.get(channel);
        synchronized (c) {
            c.leases.values().forEach(c.returned::putAll);
            c.leases.clear();
            c.leaseUntil.clear();
        }
    }

    /** How many leases of a channel are out. */
    int leasesOut(String channel) {
        Chan c = channels.get(channel);
        synchronized (c) {
            c.expire();
            return c.leases.size();
        }
    }

    /** How many times each seq of a channel was acknowledged (exactly once: 1 each). */
    Map<Long, Integer> ackedCounts(String channel) {
        Chan c = channels.get(channel);
        synchronized (c) {
            return new TreeMap<>(c.ackCounts);
        }
    }

    @Override
    public CompletableFuture<Void> closeChannel(String channel, String cap) {
        return async(() -> {
            Chan c = channels.get(channel);
            if (c == null) throw problem(404, "no channel " + channel);
            c.check(cap, c.sendCap, "send");
            synchronized (c) {
                c.closed = true;
                for (CompletableFuture<Received> w : c.waiters) w.complete(new Received(List.of(), List.of(), true));
                c.waiters.clear();
            }
            return null;
        });
    }

    @Override
    public CompletableFuture<Void> bind(String id, String kind) {
        bound.add(id);
        return CompletableFuture.completedFuture(null);
    }

    /** What kills a fibril on a node of this fake constellation (the node's DELETE /fibrils/{id}). */
    final Map<String, Function<String, JsonNode>> killers = new ConcurrentHashMap<>();

    @Override
    public CompletableFuture<JsonNode> kill(String node, String id) {
        Function<String, JsonNode> k = killers.get(node);
        if (k == null) return CompletableFuture.failedFuture(problem(404, "no node " + node));
        return async(() -> k.apply(id));
    }

    /** Called with each object key written (a hook for tests that act in the middle of a move). */
    volatile Consumer<String> onPut = k -> { };

    /** Aliases of this fake naming: name → URI. */
    final Map<String, String> aliases = new ConcurrentHashMap<>();

    @Override
    public CompletableFuture<String> alias(String name) {
        return CompletableFuture.completedFuture(aliases.get(name));
    }

    @Override
    public CompletableFuture<JsonNode> spawn(JsonNode request) {
        Function<JsonNode, JsonNode> s = spawner;
        if (s == null) return CompletableFuture.failedFuture(problem(503, "no scheduler (fake)"));
        return async(() -> s.apply(request));
    }

    @Override
    public CompletableFuture<Void> heartbeat(int fibrils) {
        heartbeats.incrementAndGet();
        return CompletableFuture.completedFuture(null);
    }

    // --- migration: nodes that share this fake naming -------------------------------------

    /** Nodes of this fake constellation: name → what takes a packet (the node's POST …/arrivals). */
    final Map<String, Function<JsonNode, JsonNode>> nodes = new ConcurrentHashMap<>();
    final Map<String, String> bindings = new ConcurrentHashMap<>();
    final Map<String, Long> generations = new ConcurrentHashMap<>();
    final AtomicInteger deliveries = new AtomicInteger();

    /** This fake seen from one node: binds record that node (several nuclei share one fake constellation). */
    Mantle as(String node) {
        FakeMantle self = this;
        return (Mantle) java.lang.reflect.Proxy.newProxyInstance(Mantle.class.getClassLoader(), new Class<?>[] {Mantle.class},
                (proxy, method, args) -> {
                    if ((method.getName().equals("rebind") || method.getName().equals("bind")) && args != null) {
                        self.bindings.put((String) args[0], node);
                    }
                    try {
                        return method.invoke(self, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Override
    public CompletableFuture<Long> rebind(String id, String kind) {
        return CompletableFuture.completedFuture(generations.merge(id, 2L, (a, b) -> a + 1));
    }

    @Override
    public CompletableFuture<JsonNode> lookup(String id) {
        return async(() -> {
            if (nodes.containsKey(id)) return F.objectNode().put("id", id).put("kind", "node").put("url", "fake:" + id);
            String node = bindings.get(id);
            if (node == null) return null;
            return F.objectNode().put("id", id).put("kind", "fibril").put("node", node).put("generation", generations.getOrDefault(id, 1L));
        });
    }

    @Override
    public CompletableFuture<JsonNode> deliver(String node, JsonNode packet) {
        Function<JsonNode, JsonNode> to = nodes.get(node);
        if (to == null) return CompletableFuture.failedFuture(problem(404, "no node " + node));
        deliveries.incrementAndGet();
        return async(() -> to.apply(packet));
    }

    @Override
    public CompletableFuture<Map<String, String>> nodes() {
        Map<String, String> out = new LinkedHashMap<>();
        nodes.keySet().stream().sorted().forEach(n -> out.put(n, "fake:" + n));
        return CompletableFuture.completedFuture(out);
    }

    @Override
    public CompletableFuture<JsonNode> nodeFibrils(String url, String state) {
        return CompletableFuture.completedFuture(F.objectNode().putArray("fibrils"));
    }

    /** Total of every attr in a space (test assertions). */
    public Map<String, Long> column(String space, String attr) {
        Map<String, Long> out = new LinkedHashMap<>();
        Map<String, ObjectNode> m = objects.getOrDefault(space, Collections.emptyMap());
        m.forEach((k, o) -> out.put(k, o.path("attrs").path(attr).asLong(0)));
        return out;
    }
}
