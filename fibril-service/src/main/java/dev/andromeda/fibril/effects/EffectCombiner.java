package dev.andromeda.fibril.effects;

import dev.andromeda.common.problem.M31Problem;
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
 */
public final class EffectCombiner implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EffectCombiner.class);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final int CHUNK = 10_000;

    /** One combinable cell. */
    record Cell(String space, String key, String attr) {}

    private static final class Generation {
        final long number;
        final ConcurrentHashMap<Cell, LongAdder> sums = new ConcurrentHashMap<>();
        final CompletableFuture<Void> durable = new CompletableFuture<>();
        Generation(long number) { this.number = number; }
    }

    private final Mantle mantle;
    private final int maxEntries;
    /** Makes batch ids unique across restarts of this node, whose generation numbers restart at 1. */
    private final String batchPrefix;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final ConcurrentSkipListMap<Long, CompletableFuture<Void>> inFlight = new ConcurrentSkipListMap<>();
    private final ScheduledExecutorService flusher;
    private final AtomicBoolean flushQueued = new AtomicBoolean();
    private volatile Generation current = new Generation(1);
    private volatile boolean closed;

    public EffectCombiner(Mantle mantle, String node, Duration interval, int maxEntries) {
        this.mantle = mantle;
        this.maxEntries = maxEntries;
        this.batchPrefix = node + "-" + Long.toString(System.currentTimeMillis(), 36)
                + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fibril-" + node + "-flusher");
            t.setDaemon(true);
            return t;
        });
        long ms = Math.max(1, interval.toMillis());
        flusher.scheduleWithFixedDelay(this::flushSafely, ms, ms, TimeUnit.MILLISECONDS);
    }

    /**
     * Adds {@code delta} to (space, key, attr); answers the generation it went into, which the
     * caller remembers to await durability later.
     */
    public long add(String space, String key, String attr, long delta) {
        Generation g;
        lock.readLock().lock();
        try {
            g = current;
            g.sums.computeIfAbsent(new Cell(space, key, attr), c -> new LongAdder()).add(delta);
        } finally {
            lock.readLock().unlock();
        }
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

    /** The generation effects go into now (tests). */
    public long currentGeneration() { return current.number; }

    private void requestFlush() {
        if (closed) return;
        if (flushQueued.compareAndSet(false, true)) {
            try {
                flusher.execute(this::flushSafely);
            } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
                flushQueued.set(false);
            }
        }
    }

    private void flushSafely() {
        flushQueued.set(false);
        try {
            flushOnce();
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
        List<Batch> batches = batches(old);
        for (Batch b : batches) sendUntilApplied(b);
        old.durable.complete(null);
        inFlight.remove(old.number);
    }

    record Batch(String space, String batchId, ObjectNode body, int invocations) {}

    private List<Batch> batches(Generation g) {
        // space → key → attr → sum, keeping one invocation per key with all its attributes
        Map<String, Map<String, Map<String, Long>>> bySpace = new LinkedHashMap<>();
        g.sums.forEach((cell, adder) -> {
            long n = adder.sum();
            if (n == 0) return;
            bySpace.computeIfAbsent(cell.space(), s -> new LinkedHashMap<>())
                    .computeIfAbsent(cell.key(), k -> new LinkedHashMap<>())
                    .put(cell.attr(), n);
        });
        List<Batch> out = new ArrayList<>();
        bySpace.forEach((space, keys) -> {
            int chunk = 0;
            ArrayNode invs = F.arrayNode();
            for (Map.Entry<String, Map<String, Long>> k : keys.entrySet()) {
                ObjectNode inv = invs.addObject().put("key", k.getKey());
                ObjectNode ops = inv.putObject("ops");
                k.getValue().forEach((attr, n) -> ops.putObject(attr).put("op", n > 0 ? "incr" : "decr").put("n", Math.abs(n)));
                if (invs.size() == CHUNK) {
                    out.add(batch(space, g.number, chunk++, invs));
                    invs = F.arrayNode();
                }
            }
            if (!invs.isEmpty()) out.add(batch(space, g.number, chunk, invs));
        });
        return out;
    }

    private Batch batch(String space, long gen, int chunk, ArrayNode invs) {
        String id = batchPrefix + "-g" + gen + "-" + space + "-" + chunk;
        ObjectNode body = F.objectNode().put("batchId", id);
        body.set("invocations", invs);
        return new Batch(space, id, body, invs.size());
    }

    /**
     * Sends a batch until the store has it. A refusal (4xx) means the store applied none of it
     * (a batch is one statement); then the batch is halved under new ids, down to the single
     * invocation the store refuses, which is logged and dropped: one bad key must not cost the
     * other fibrils' effects, nor stall the flushes behind it.
     */
    private void sendUntilApplied(Batch b) {
        M31Problem refused = send(b);
        if (refused == null) return;
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
        return new Batch(b.space(), id, body, invs.size());
    }

    /** Null once applied; the problem when the store refuses the batch as such. */
    private M31Problem send(Batch b) {
        long backoff = 50;
        for (int attempt = 1; ; attempt++) {
            try {
                mantle.invoke(b.space(), b.body()).get(150, TimeUnit.SECONDS);
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
