package dev.andromeda.fibril.modules;

import dev.andromeda.common.channel.ChannelTypes;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.fibril.nucleus.Fibril;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import tools.jackson.databind.JsonNode;

/**
 * The in-memory path of sync channels: a sync send of a fibril is handed straight to a fibril of
 * the same node that waits in {@code recv()} on that channel, without Kafka or the channel service.
 *
 * <p>Why only sync channels, and why this keeps the one semantics of the Kafka path:
 * <ul>
 * <li><b>A rendezvous has no buffer to lose.</b> The message goes from the sender's state into the
 *     receiver's in one step, and the sender resumes only then: exactly what "taken" means on the
 *     Kafka path. An async send promises a durable message; buffering it in a node's memory would
 *     lose it with the node, so async channels always go through Kafka (and capacity stays the
 *     service's to enforce).</li>
 * <li><b>FIFO.</b> A sync send completes only once taken, so nothing a sender sent earlier can still
 *     be on its way when its next message is handed over; sends of different senders that overlap
 *     in time were never ordered. A receiver waits here only with an empty inbox (what a poll took
 *     is consumed first), and a sync channel has one cursor (the service refuses broadcast clones
 *     of it), so no other receiver misses a message handed over here.</li>
 * <li><b>Exactly once.</b> A handover completes the receiver's wait once (the first of a sender and
 *     the window's end wins); a wait that ended goes on as an ordinary poll.</li>
 * <li><b>Migration.</b> A fibril that is asked to move stops waiting here at the window's end and
 *     receives again on its new node; a message handed over before it left travels with it as the
 *     value its recv() returns. A moving fibril never takes a handover it could lose.</li>
 * <li><b>Authority and type.</b> Both ends must have been let through by the channel service with
 *     the same cap and identity within the last {@link #PROOF}: a fibril cannot use this path
 *     with a cap the service never accepted, and a closed channel or a revoked right is seen
 *     within that time. The message is checked against the channel's type here as the service
 *     would; one that fails, is large, or carries endpoints (whose caps only the service can
 *     verify) goes the ordinary way and gets the service's answer.</li>
 * </ul>
 * A receiver waits here for at most {@code window}, and only on a channel that a fibril of this
 * node sent on lately and while no send of this node to it is at the service; then it polls as
 * usual. A message from elsewhere is therefore late by at most that window, never lost. The other
 * way round, a sender that finds no receiver waiting, on a channel whose receiver here is busy
 * between two receives (not polling the service), offers its message here for at most the window
 * before it takes it to the service, so a rendezvous does not depend on which end came first.
 */
final class LocalRendezvous {

    /** How long an acceptance by the channel service stands for this path. */
    static final Duration PROOF = Duration.ofSeconds(1);
    /** A channel counts as one with local senders this long after the last one. */
    static final Duration HOT = Duration.ofSeconds(10);
    /** Larger messages go through the service (and its size limit). */
    static final int MAX_BYTES = 64 * 1024;

    /** What a handover completes a receiver's wait with. */
    record Handed(JsonNode value) {}

    /** What a wait ends with when no sender came: poll as usual. */
    static final Object NOTHING = new Object() {
        @Override public String toString() { return "NOTHING"; }
    };

    private final Supplier<ScheduledExecutorService> timers;
    private final ChannelTypes types;
    private final long windowNanos;
    private final Map<String, Spot> spots = new ConcurrentHashMap<>();
    /** "s|r" + channel|cap|identity → until when the service's acceptance stands (System.nanoTime). */
    private final Map<String, Long> proofs = new ConcurrentHashMap<>();
    private final AtomicLong handed = new AtomicLong();

    /** {@code window} zero: the path is off, every message goes through the channel service. */
    LocalRendezvous(Supplier<ScheduledExecutorService> timers, Duration window, ChannelTypes types) {
        this.timers = timers;
        this.types = types;
        this.windowNanos = window.toNanos();
    }

    /**
     * One channel as this node sees it. Its queues change under its monitor: taking a waiter or
     * an offer out of its queue is what claims it, so a sender, a receiver and a timer never
     * claim the same one twice; futures are completed after the monitor is left.
     */
    private static final class Spot {
        volatile long lastLocalSend;
        volatile long lastLocalReceive;
        volatile boolean closed;
        final AtomicInteger atService = new AtomicInteger();
        /** Receivers of this node in a poll of the service: a sender here goes there at once. */
        final AtomicInteger polling = new AtomicInteger();
        final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
        final ArrayDeque<Offer> offers = new ArrayDeque<>();
    }

    private record Waiter(Fibril fibril, CompletableFuture<Object> got) {}

    /** A sync message waiting here for a receiver of this node; {@code taken}: true (taken) or false (go to the service). */
    private record Offer(JsonNode value, CompletableFuture<Boolean> taken) {}

    long handedOver() { return handed.get(); }

    // --- what the channel service let through ----------------------------------------------

    void senderAccepted(String channel, String cap, Object who) { prove("s|", channel, cap, who); }

    void receiverAccepted(String channel, String cap, Object who) { prove("r|", channel, cap, who); }

    /** The service said the channel is closed: from now on every send here hears it from the service. */
    void closed(String channel) {
        Spot s = spots.get(channel);
        if (s != null) s.closed = true;
    }

    private void prove(String end, String channel, String cap, Object who) {
        if (windowNanos <= 0) return;
        if (proofs.size() > 100_000) proofs.clear();
        proofs.put(end + channel + "|" + cap + "|" + who, System.nanoTime() + PROOF.toNanos());
    }

    private boolean proven(String end, String channel, String cap, Object who) {
        Long until = proofs.get(end + channel + "|" + cap + "|" + who);
        return until != null && until - System.nanoTime() > 0;
    }

    // --- senders ------------------------------------------------------------------------------

    private static final CompletableFuture<Boolean> YES = CompletableFuture.completedFuture(true);
    private static final CompletableFuture<Boolean> NO = CompletableFuture.completedFuture(false);

    /**
     * Hands a sync send to a receiver of this node: one that waits for it, or one that comes
     * within the window. Completes with true when one took it (the send is complete), false when
     * the send must go through the service.
     */
    CompletableFuture<Boolean> handOver(String channel, String cap, Object who, JsonNode type, JsonNode value, String text) {
        if (windowNanos <= 0) return NO;
        Spot spot = spot(channel);
        long now = System.nanoTime();
        spot.lastLocalSend = now;
        if (spot.closed || !proven("s|", channel, cap, who) || !fitsHere(type, value, text)) return NO;
        // offered only while a receiver of this node is busy between two receives, not polling the service
        boolean mayOffer = now - spot.lastLocalReceive < HOT.toNanos() && spot.polling.get() == 0;
        List<Waiter> gone = new ArrayList<>();
        Waiter w = null;
        Offer o = null;
        synchronized (spot) {
            while ((w = spot.waiters.poll()) != null) {
                Fibril f = w.fibril();
                // a fibril that ends or moves does not take a message it could lose
                if (!f.state().ended() && f.state() != Fibril.State.ENDING && f.transfer() == null) break;
                gone.add(w);
            }
            if (w == null && mayOffer) {
                o = new Offer(value, new CompletableFuture<>());
                spot.offers.add(o);
            }
        }
        gone.forEach(g -> g.got().complete(NOTHING));
        if (w != null) {
            handed.incrementAndGet();
            w.got().complete(new Handed(value));
            return YES;
        }
        if (o == null) return NO;
        Offer offer = o;
        later(() -> {
            boolean mine;
            synchronized (spot) {
                mine = spot.offers.remove(offer);
            }
            if (mine) offer.taken().complete(false);
        });
        return offer.taken();
    }

    private boolean fitsHere(JsonNode type, JsonNode value, String text) {
        if (type == null) return false;
        if (text.length() > MAX_BYTES || text.contains("\"$ch\"")) return false;
        try {
            types.check(type, value);
            return true;
        } catch (M31Problem | IllegalArgumentException wrong) {
            return false; // the service answers it, with the same 422 as for a send from elsewhere
        }
    }

    /** A send of this node is at the service: receivers here stop waiting for a handover and poll for it. */
    void atService(String channel) {
        if (windowNanos <= 0) return;
        Spot spot = spot(channel);
        spot.atService.incrementAndGet();
        List<Waiter> woken;
        synchronized (spot) {
            woken = new ArrayList<>(spot.waiters);
            spot.waiters.clear();
        }
        woken.forEach(w -> w.got().complete(NOTHING));
    }

    void backFromService(String channel) {
        if (windowNanos <= 0) return;
        Spot spot = spots.get(channel);
        if (spot != null) spot.atService.decrementAndGet();
    }

    // --- receivers ----------------------------------------------------------------------------

    /**
     * A message offered here, or a wait for a handover; null when {@code f} should poll at once:
     * the path is off, no fibril of this node sent on the channel lately, one of its sends is at
     * the service, or the service has not let this receiver through lately. The wait ends with
     * {@link Handed} or {@link #NOTHING} (the window passed, or a send went to the service).
     */
    CompletableFuture<Object> await(Fibril f, String channel, String cap) {
        if (windowNanos <= 0) return null;
        Spot spot = spots.get(channel);
        if (spot == null || spot.closed || spot.atService.get() > 0) return null;
        if (System.nanoTime() - spot.lastLocalSend > HOT.toNanos()) return null;
        if (!proven("r|", channel, cap, f.caller())) return null;
        Waiter w = new Waiter(f, new CompletableFuture<>());
        Offer o;
        synchronized (spot) {
            o = spot.offers.poll();
            if (o == null) spot.waiters.add(w);
        }
        if (o != null) {
            handed.incrementAndGet();
            o.taken().complete(true);
            return CompletableFuture.completedFuture(new Handed(o.value()));
        }
        later(() -> {
            boolean mine;
            synchronized (spot) {
                mine = spot.waiters.remove(w);
            }
            if (mine) w.got().complete(NOTHING);
        });
        return w.got();
    }

    /**
     * A receiver of this node starts a poll of the service for {@code channel}; the answer says
     * when it ended (from then on the receiver counts as busy between two receives).
     */
    Runnable polling(String channel) {
        if (windowNanos <= 0) return () -> { };
        Spot spot = spot(channel);
        spot.polling.incrementAndGet();
        return () -> {
            spot.lastLocalReceive = System.nanoTime();
            spot.polling.decrementAndGet();
        };
    }

    private void later(Runnable r) {
        try {
            timers.get().schedule(r, windowNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closing) {
            r.run(); // the node is closing: nothing waits for the window
        }
    }

    private Spot spot(String channel) {
        if (spots.size() > 100_000) spots.clear();
        return spots.computeIfAbsent(channel, c -> new Spot());
    }
}
