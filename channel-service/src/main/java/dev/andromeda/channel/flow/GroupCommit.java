package dev.andromeda.channel.flow;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Group commit, as PostgreSQL does it for WAL flushes: requests for one key (a channel) that
 * arrive while another is being written wait, and are then written together by one of them, the
 * leader, in a single piece of work (one transaction, one Kafka round trip). A send holds its
 * channel's row lock across the Kafka acknowledgement, so two senders of one channel otherwise
 * take turns, each paying a round trip; together they pay one. Each request still gets its own
 * answer or its own error. The leader writes the group it found and then hands leadership to the
 * first request that queued behind it, so no caller works for others for long.
 *
 * @param <P> a request
 * @param <R> its answer
 */
final class GroupCommit<P, R> {

    /** The work for one group, in arrival order: for each request its answer, or the RuntimeException it gets. */
    interface Work<P> {
        List<Object> run(String key, List<P> group);
    }

    private static final class Waiter<P> {
        final P request;
        final int weight;
        Object outcome;
        boolean done;
        boolean lead;

        Waiter(P request, int weight) {
            this.request = request;
            this.weight = weight;
        }
    }

    private static final class Lane<P> {
        final ArrayDeque<Waiter<P>> queue = new ArrayDeque<>();
        boolean leading;
        int users;
    }

    private final ConcurrentHashMap<String, Lane<P>> lanes = new ConcurrentHashMap<>();
    /** Groups written, and requests written in a group with at least one other (metrics). */
    private final java.util.concurrent.atomic.LongAdder groups = new java.util.concurrent.atomic.LongAdder(), joined = new java.util.concurrent.atomic.LongAdder();
    private final int maxWeight;
    private final Work<P> work;

    /** {@code maxWeight}: how much one group may carry (a single heavier request goes alone). */
    GroupCommit(int maxWeight, Work<P> work) {
        this.maxWeight = maxWeight;
        this.work = work;
    }

    long groups() { return groups.sum(); }

    long joined() { return joined.sum(); }

    /** Requests of {@code key} waiting for a group. */
    int queued(String key) {
        Lane<P> lane = lanes.get(key);
        if (lane == null) return 0;
        synchronized (lane) {
            return lane.queue.size();
        }
    }

    @SuppressWarnings("unchecked")
    R submit(String key, P request, int weight) {
        Waiter<P> me = new Waiter<>(request, weight);
        Lane<P> lane = lanes.compute(key, (k, l) -> {
            Lane<P> v = l == null ? new Lane<>() : l;
            v.users++;
            return v;
        });
        try {
            synchronized (lane) {
                lane.queue.add(me);
                if (!lane.leading) {
                    lane.leading = true;
                    me.lead = true;
                }
                boolean interrupted = false;
                while (!me.done && !me.lead) {
                    try {
                        lane.wait();
                    } catch (InterruptedException e) {
                        interrupted = true; // the request is queued: it is answered, not abandoned half-way
                    }
                }
                if (interrupted) Thread.currentThread().interrupt();
            }
            if (!me.done) lead(key, lane, me);
        } finally {
            lanes.computeIfPresent(key, (k, l) -> --l.users == 0 ? null : l);
        }
        if (me.outcome instanceof RuntimeException e) throw e;
        return (R) me.outcome;
    }

    /** Writes groups until {@code me} is answered, then passes the lead on (or gives it up). */
    private void lead(String key, Lane<P> lane, Waiter<P> me) {
        while (!me.done) {
            List<Waiter<P>> group = new ArrayList<>();
            synchronized (lane) {
                int w = 0;
                while (!lane.queue.isEmpty() && (group.isEmpty() || w + lane.queue.peek().weight <= maxWeight)) {
                    Waiter<P> next = lane.queue.poll();
                    w += next.weight;
                    group.add(next);
                }
            }
            groups.increment();
            if (group.size() > 1) joined.add(group.size());
            List<Object> outcomes;
            try {
                outcomes = work.run(key, group.stream().map(x -> x.request).toList());
            } catch (Throwable t) {
                // every request of the group is answered, whatever happened
                outcomes = java.util.Collections.nCopies(group.size(), t instanceof RuntimeException e ? e : new IllegalStateException(t));
            }
            synchronized (lane) {
                for (int i = 0; i < group.size(); i++) {
                    group.get(i).outcome = outcomes.get(i);
                    group.get(i).done = true;
                }
                if (me.done) {
                    Waiter<P> heir = lane.queue.peek();
                    if (heir != null) heir.lead = true;
                    else lane.leading = false;
                }
                lane.notifyAll();
            }
        }
    }
}
