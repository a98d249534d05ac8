package dev.andromeda.fibril.effects;

import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Caller;
import dev.andromeda.fibril.mantle.Mantle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Combines the incr/decr invocations of every fibril of a node: a million
 * {@code fs.invoke({word: w, freq: Int.incr})} become one sum per (space, key, attribute), sent
 * as idempotent batches.
 *
 * <p>Effects go into the current <em>generation</em>. A flush swaps in a new generation (a write
 * lock, held only for the swap: adders hold the read lock, so they never wait on each other) and
 * sends the old one, chunk by chunk, each chunk under a batch id fixed before the first attempt:
 * a chunk whose answer was lost is resent with the same id and the store applies it once.
 * Generations are flushed one after another by a single thread, so "generation g is durable"
 * also means every earlier one is, and a fibril only has to remember the last generation it
 * wrote to.
 *
 * <p>When to flush: a flush costs the store about the number of distinct cells, not of
 * increments, and a crawl's books all write the same ~20,000 words, so every flush while the
 * node still computes re-sends the whole vocabulary. Hence a generation goes out (a) at once when
 * someone waits for it and the node idles (see {@link #pacedWhile}: nothing else wants the time,
 * and no more effects are coming soon); (b) while the node computes, only after gathering for
 * the spacing, or {@value #PACE} times as long as the last flush took — so flushing never takes
 * more than about 1/(1+{@value #PACE}) of the store's time, and many fibrils that end close
 * together become durable in one flush; (c) when it holds {@code maxEntries} cells. A lone
 * fibril on a quiet node waits only for its own small flush.
 */
public final class EffectCombiner implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EffectCombiner.class);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final int CHUNK = 10_000;
    static final int PACE = 3;

    /** One combinable cell, of one identity (null: the node's own): sums of different users never mix. */
    record Cell(Caller who, String space, String key, String attr) {}

    private static final class Generation {
        final long number;
        /** System.nanoTime of its first effect (0: none yet): how long it has gathered. */
        volatile long since;
        final ConcurrentHashMap<Cell, LongAdder> sums = new ConcurrentHashMap<>();
        final CompletableFuture<Void> durable = new CompletableFuture<>();
        /** A fibril (or a read) waits for this generation to be durable. */
        volatile boolean wanted;
        Generation(long number) { this.number = number; }
    }

    private static final long TICK_MS = 10;

    private final Mantle mantle;
    private final int maxEntries;
    private final long spacingNanos;
    /** Makes batch ids unique across restarts of this node, whose generation numbers restart at 1. */
    private final String batchPrefix;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final ConcurrentSkipListMap<Long, CompletableFuture<Void>> inFlight = new ConcurrentSkipListMap<>();
    private final ScheduledExecutorService flusher;
    private final AtomicBoolean flushQueued = new AtomicBoolean();
    private volatile Generation current = new Generation(1);
    private volatile boolean closed;
    /** How long the last flush took (the pacing). */
    private volatile long lastFlushNanos;
    private volatile BooleanSupplier computing = () -> false;
    /**
     * (who, space) whose batches the store refused as a whole — the fibrils' owner may not write
     * there, or there is no such space — and when. Remembered for a while so that the fibrils that
     * contributed learn of it at their end, and later increments fail at once instead of being
     * summed, sent and refused again.
     */
    private final ConcurrentHashMap<Target, Refusal> refusals = new ConcurrentHashMap<>();
    private record Refusal(M31Problem problem, long atNanos) {}
    static final long REFUSAL_MEMORY_NANOS = TimeUnit.SECONDS.toNanos(30);

    /**
     * @param spacing    how long a generation may gather effects while the node computes (the
     *                   pacing stretches it to {@value #PACE} times the last flush)
     * @param maxEntries a generation with this many cells is flushed at once
     */
    public EffectCombiner(Mantle mantle, String node, Duration spacing, int maxEntries) {
        this.mantle = mantle;
        this.maxEntries = maxEntries;
        this.spacingNanos = spacing.toNanos();
        this.batchPrefix = node + "-" + Long.toString(System.currentTimeMillis(), 36)
                + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fibril-" + node + "-flusher");
            t.setDaemon(true);
            return t;
        });
        flusher.scheduleWithFixedDelay(this::flushIfDue, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    /**
     * Adds {@code delta} to (space, key, attr); answers the generation it went into, which the
     * caller remembers to await durability later.
     */
    public long add(Caller who, String space, String key, String attr, long delta) {
        Generation g;
        lock.readLock().lock();
        try {
            g = current;
            if (g.since == 0) g.since = System.nanoTime();
            g.sums.computeIfAbsent(new Cell(who, space, key, attr), c -> new LongAdder()).add(delta);
        } finally {
            lock.readLock().unlock();
        }
        if (g.sums.mappingCount() >= maxEntries) requestFlush();
        return g.number;
    }

    /**
     * Adds {@code deltas[i]} to (space, keys[i], attr) for every i, under one hold of the lock (a
     * book's 25,000 counts at once); answers the generation, or 0 when every delta was 0.
     */
    public long addAll(Caller who, String space, String attr, String[] keys, long[] deltas) {
        Generation g;
        boolean any = false;
        lock.readLock().lock();
        try {
            g = current;
            if (g.since == 0) g.since = System.nanoTime();
            ConcurrentHashMap<Cell, LongAdder> sums = g.sums;
            for (int i = 0; i < keys.length; i++) {
                if (deltas[i] == 0) continue;
                any = true;
                sums.computeIfAbsent(new Cell(who, space, keys[i], attr), c -> new LongAdder()).add(deltas[i]);
            }
        } finally {
            lock.readLock().unlock();
        }
        if (!any) return 0;
        if (g.sums.mappingCount() >= maxEntries) requestFlush();
        return g.number;
    }

    /** Completes when generation {@code gen} (and so every earlier one) is in the store. 0 = nothing. */
    public CompletableFuture<Void> awaitDurable(long gen) {
        if (gen <= 0) return CompletableFuture.completedFuture(null);
        Generation g = current;
        if (gen >= g.number) {
            requestFlush();
            return g.durable;
        }
        CompletableFuture<Void> f = inFlight.get(gen);
        // neither current nor in flight: its flush completed (it leaves inFlight only after that)
        return f != null ? f : CompletableFuture.completedFuture(null);
    }

    /** Completes when everything added so far, by any fibril of this node, is in the store. */
    public CompletableFuture<Void> awaitAll() {
        Generation g = current;
        if (!g.sums.isEmpty()) return awaitDurable(g.number);
        Map.Entry<Long, CompletableFuture<Void>> last = inFlight.lastEntry();
        return last == null ? CompletableFuture.completedFuture(null) : last.getValue();
    }

    /**
     * Why the store refused every increment {@code who} sent to {@code space} lately (401, 403,
     * 404, 410: a matter of the space and the identity, not of one key), or null.
     */
    public M31Problem refusal(Caller who, String space) {
        Target t = new Target(who, space);
        Refusal r = refusals.get(t);
        if (r == null) return null;
        if (System.nanoTime() - r.atNanos() > REFUSAL_MEMORY_NANOS) {
            refusals.remove(t, r);
            return null;
        }
        return r.problem();
    }

    /** The generation effects go into now (tests). */
    public long currentGeneration() { return current.number; }

    /**
     * Tells the combiner when its node is computing (fibrils running or queued): a flush asked
     * for then keeps to the pacing; asked for while the node idles, it starts at once, since
     * nothing else wants the time and more effects are not coming soon.
     */
    public void pacedWhile(BooleanSupplier computing) {
        this.computing = computing;
    }

    /** Someone waits for the current generation: it goes out as soon as it is due. */
    private void requestFlush() {
        current.wanted = true;
        if (closed) return;
        if (flushQueued.compareAndSet(false, true)) {
            try {
                flusher.execute(() -> {
                    flushQueued.set(false);
                    flushIfDue();
                });
            } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
                flushQueued.set(false);
            }
        }
    }

    /**
     * Due: when it is big; when someone waits and the node idles; else once it has gathered for
     * the spacing, or {@value #PACE} times as long as the last flush took if that is longer.
     */
    private boolean due() {
        Generation g = current;
        if (g.sums.isEmpty()) return false;
        if (closed || g.sums.mappingCount() >= maxEntries) return true;
        if (g.wanted && !computing.getAsBoolean()) return true;
        return System.nanoTime() - g.since >= Math.max(spacingNanos, PACE * lastFlushNanos);
    }

    private void flushIfDue() {
        try {
            if (due()) flushOnce();
        } catch (RuntimeException e) {
            log.error("combiner flush failed unexpectedly", e);
        }
    }

    /** Swaps the generation and sends the old one, retrying each chunk until the store has it. */
    void flushOnce() {
        Generation old;
        lock.writeLock().lock();
        try {
            old = current;
            if (old.sums.isEmpty()) return;
            // in flight before it stops being current, so no reader ever sees it in neither place
            inFlight.put(old.number, old.durable);
            current = new Generation(old.number + 1);
        } finally {
            lock.writeLock().unlock();
        }
        long t0 = System.nanoTime();
        List<Batch> batches = batches(old);
        for (Batch b : batches) sendUntilApplied(b);
        long now = System.nanoTime();
        lastFlushNanos = now - t0;
        old.durable.complete(null);
        inFlight.remove(old.number);
    }

    record Batch(Caller who, String space, String batchId, ObjectNode body, int invocations) {}

    /** Whose sums go to which space: a batch carries one identity. */
    private record Target(Caller who, String space) {}

    private List<Batch> batches(Generation g) {
        // (who, space) → key → attr → sum, keeping one invocation per key with all its attributes
        Map<Target, Map<String, Map<String, Long>>> byTarget = new LinkedHashMap<>();
        g.sums.forEach((cell, adder) -> {
            long n = adder.sum();
            if (n == 0) return;
            byTarget.computeIfAbsent(new Target(cell.who(), cell.space()), s -> new LinkedHashMap<>())
                    .computeIfAbsent(cell.key(), k -> new LinkedHashMap<>())
                    .put(cell.attr(), n);
        });
        List<Batch> out = new ArrayList<>();
        int[] group = {0};
        byTarget.forEach((target, keys) -> {
            String prefix = batchPrefix + "-g" + g.number + "-" + target.space() + "-" + group[0]++ + "-";
            int chunk = 0;
            ArrayNode invs = F.arrayNode();
            for (Map.Entry<String, Map<String, Long>> k : keys.entrySet()) {
                ObjectNode inv = invs.addObject().put("key", k.getKey());
                ObjectNode ops = inv.putObject("ops");
                k.getValue().forEach((attr, n) -> ops.putObject(attr).put("op", n > 0 ? "incr" : "decr").put("n", Math.abs(n)));
                if (invs.size() == CHUNK) {
                    out.add(batch(target, prefix + chunk++, invs));
                    invs = F.arrayNode();
                }
            }
            if (!invs.isEmpty()) out.add(batch(target, prefix + chunk, invs));
        });
        return out;
    }

    private static Batch batch(Target target, String id, ArrayNode invs) {
        ObjectNode body = F.objectNode().put("batchId", id);
        body.set("invocations", invs);
        return new Batch(target.who(), target.space(), id, body, invs.size());
    }

    /**
     * Sends a batch until the store has it. A refusal (4xx) means the store applied none of it
     * (a batch is one statement); then the batch is halved under new ids, down to the single
     * invocation the store refuses, which is logged and dropped: one bad key must not cost the
     * other fibrils' effects, nor stall the flushes behind it. A refusal of the space or the
     * identity itself (401, 403, 404, 410) is not split — every half would be refused the same —
     * but remembered for the owner's fibrils to fail with ({@link #refusal}).
     */
    private void sendUntilApplied(Batch b) {
        M31Problem refused = send(b);
        Target target = new Target(b.who(), b.space());
        if (refused == null) {
            if (!refusals.isEmpty()) refusals.remove(target);
            return;
        }
        int st = refused.status();
        if (st == 401 || st == 403 || st == 404 || st == 410) {
            refusals.put(target, new Refusal(refused, System.nanoTime()));
            log.warn("the store refused batch {} ({} invocations on {} for {}): {}", b.batchId(), b.invocations(), b.space(),
                    b.who() == null ? "the node" : b.who().subject(), refused.getMessage());
            return;
        }
        ArrayNode invs = (ArrayNode) b.body().get("invocations");
        if (invs.size() <= 1) {
            log.error("the store refused invocation {} of batch {} on {}; dropped: {}", invs, b.batchId(), b.space(), refused.getMessage());
            return;
        }
        int half = invs.size() / 2;
        ArrayNode left = F.arrayNode(), right = F.arrayNode();
        for (int i = 0; i < invs.size(); i++) (i < half ? left : right).add(invs.get(i));
        sendUntilApplied(split(b, ".0", left));
        sendUntilApplied(split(b, ".1", right));
    }

    private static Batch split(Batch b, String suffix, ArrayNode invs) {
        String id = b.batchId() + suffix;
        ObjectNode body = F.objectNode().put("batchId", id);
        body.set("invocations", invs);
        return new Batch(b.who(), b.space(), id, body, invs.size());
    }

    /** Null once applied; the problem when the store refuses the batch as such. */
    private M31Problem send(Batch b) {
        long backoff = 50;
        for (int attempt = 1; ; attempt++) {
            try {
                mantle.as(b.who()).invoke(b.space(), b.body()).get(150, TimeUnit.SECONDS);
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                log.warn("flush of batch {} interrupted: it will not be applied", b.batchId());
                return null;
            } catch (Exception e) {
                Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
                if (cause instanceof M31Problem p && p.status() >= 400 && p.status() < 500 && p.status() != 408 && p.status() != 429) {
                    return p;
                }
                if (closed && attempt > 3) {
                    log.warn("giving up batch {} at shutdown: {}", b.batchId(), cause.toString());
                    return null;
                }
                if (attempt == 1 || attempt % 20 == 0) {
                    log.warn("batch {} ({} invocations on {}) not applied yet, retrying with the same id: {}",
                            b.batchId(), b.invocations(), b.space(), cause.toString());
                }
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return null;
                }
                backoff = Math.min(backoff * 2, 2000);
            }
        }
    }

    /** Flushes what is left (bounded), then stops. */
    @Override
    public void close() {
        closed = true;
        try {
            flusher.submit(this::flushOnce).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("final flush did not finish: {}", e.toString());
        }
        flusher.shutdownNow();
    }
}
