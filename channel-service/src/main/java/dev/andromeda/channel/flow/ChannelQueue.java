package dev.andromeda.channel.flow;

import dev.andromeda.channel.store.ChannelStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.kafka.common.TopicPartition;
import tools.jackson.databind.util.RawValue;

/**
 * The messages of one channel read from Kafka and not yet acknowledged by every cursor, in seq
 * order, and the channel's cursors ("groups"). A group has {@code acked} (durable, in PostgreSQL),
 * {@code handed} (the highest seq receivers were given) and between them the leases of its manual
 * receivers, each on its own, so that receivers sharing a cursor neither acknowledge nor give back
 * each other's messages. The dispatcher appends; receivers, ackers and sync senders work under {@link #lock}.
 */
final class ChannelQueue {

    /** One message as read from Kafka: seq is its record's offset + 1, json its JSON text (checked when sent). */
    record Entry(long seq, byte[] json) {
        int bytes() { return json.length; }
        /** Written into answers as it is, not parsed and written again. */
        RawValue value() { return new RawValue(new JsonBytes(json)); }
    }

    /**
     * What one manual-ack receive (or one stream) holds: its seqs until {@code until}
     * (System.nanoTime()), when they are given back. Its id is unique on the cursor, and below 2^53
     * so that a JavaScript client reads it exactly.
     */
    static final class Lease {
        final long id;
        long until;
        final boolean stream;
        final SeqRanges seqs = new SeqRanges();

        Lease(long id, long until, boolean stream) {
            this.id = id;
            this.until = until;
            this.stream = stream;
        }
    }

    /**
     * A receive cursor, shared by every receiver of its endpoints. Each message above {@code acked}
     * and up to {@code handed} is in exactly one of: a lease, {@code returned} (given back, handed
     * out again first), {@code ackedAbove} (acknowledged out of order while a lease below is out).
     */
    static final class Group {
        final String id;
        /** Every message at or below it is acknowledged (durable, in PostgreSQL). */
        long acked;
        /** Seqs above {@code acked} acknowledged already (durable with it): never handed out again. */
        SeqRanges ackedAbove;
        /** The highest seq ever handed out: what is new lies beyond it. */
        long handed;
        long received;
        final Map<Long, Lease> leases = new LinkedHashMap<>();
        SeqRanges returned = new SeqRanges();
        /** What the last expired leases held, so that a late ack can still acknowledge what nobody took since. */
        final Map<Long, SeqRanges> expired = new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, SeqRanges> eldest) {
                return size() > 256;
            }
        };
        /** Leases are numbered from a random start: an id from before a restart names no lease after it. */
        private long nextLease = java.util.concurrent.ThreadLocalRandom.current().nextLong(1, 1L << 52);
        /** Grows when a stream resumes (Last-Event-ID / after=): the streams begun before it end. */
        long streamEpoch;
        /** What streams gave back (they broke, or their lease ran out): a resuming stream may acknowledge it. */
        SeqRanges streamGiven = new SeqRanges();

        Group(String id, long acked, SeqRanges ackedAbove, long received) {
            this.id = id;
            this.acked = acked;
            this.ackedAbove = ackedAbove;
            this.handed = acked;
            this.received = received;
        }

        Lease newLease(long until, boolean stream) {
            Lease l = new Lease(nextLease++, until, stream);
            leases.put(l.id, l);
            return l;
        }

        /** The earliest end of a lease (nanoTime), or none. */
        java.util.OptionalLong nextExpiry() {
            return leases.values().stream().mapToLong(l -> l.until).reduce((a, b) -> a - b < 0 ? a : b);
        }

        /** Everything handed out is acknowledged, nothing is out or given back. */
        boolean settled() {
            return leases.isEmpty() && returned.isEmpty();
        }

        /** The state an ack changes, to put back when PostgreSQL does not take it. */
        Runnable snapshot() {
            long a = acked, h = handed, r = received;
            SeqRanges above = new SeqRanges(ackedAbove), ret = new SeqRanges(returned), given = new SeqRanges(streamGiven);
            Map<Long, SeqRanges> held = new HashMap<>();
            leases.forEach((id, l) -> held.put(id, new SeqRanges(l.seqs)));
            Map<Long, Lease> out = new LinkedHashMap<>(leases);
            return () -> {
                acked = a;
                handed = h;
                received = r;
                ackedAbove = above;
                returned = ret;
                streamGiven = given;
                leases.clear();
                leases.putAll(out);
                out.forEach((id, l) -> {
                    l.seqs.removeUpTo(Long.MAX_VALUE);
                    l.seqs.addAll(held.get(id));
                });
            };
        }
    }

    final String id;
    final TopicPartition partition;
    final ReentrantLock lock = new ReentrantLock();
    /** A message arrived, the channel closed, or a lease was given back. */
    final Condition arrived = lock.newCondition();
    /** A receiver took messages (sync senders wait on it). */
    final Condition taken = lock.newCondition();
    private final ArrayList<Entry> entries = new ArrayList<>();
    private int head;
    private long bytes;
    private final Map<String, Group> groups = new HashMap<>();
    private final Set<Long> withdrawn;
    /** The highest seq enqueued or acknowledged: a record at or below it is a replay and is dropped. */
    private long highest;
    private volatile boolean closed;
    private volatile long closeSeq = Long.MAX_VALUE;

    ChannelQueue(String id, TopicPartition partition, List<ChannelStore.Group> cursors, Set<Long> withdrawn, Long closeSeq) {
        this.id = id;
        this.partition = partition;
        this.withdrawn = new HashSet<>(withdrawn);
        long low = Long.MAX_VALUE;
        for (ChannelStore.Group g : cursors) {
            groups.put(g.id(), new Group(g.id(), g.cursor(), SeqRanges.of(g.ackedAbove()), g.received()));
            low = Math.min(low, g.cursor());
        }
        this.highest = low == Long.MAX_VALUE ? 0 : low;
        if (closeSeq != null) {
            this.closed = true;
            this.closeSeq = closeSeq;
        }
    }

    /** Called by the dispatcher: false when the record was replayed, withdrawn, or came after the close. */
    boolean offer(Entry e) {
        lock.lock();
        try {
            if (e.seq() <= highest || e.seq() > closeSeq) return false;
            highest = e.seq();
            if (withdrawn.remove(e.seq())) return false;
            entries.add(e);
            bytes += e.bytes();
            arrived.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Under {@link #lock}. */
    Group group(String grp) {
        return groups.get(grp);
    }

    /** Under {@link #lock}. */
    Map<String, Group> groups() {
        return groups;
    }

    /** Under {@link #lock}: a new cursor starting where {@code from} acknowledged. */
    Group addGroup(String grp, Group from) {
        Group g = new Group(grp, from.acked, new SeqRanges(), 0);
        groups.put(grp, g);
        return g;
    }

    /** Under {@link #lock}: expired leases give their messages back (handed out first, in order, to whoever receives next). */
    void expire(Group g, long now) {
        for (var it = g.leases.values().iterator(); it.hasNext(); ) {
            Lease l = it.next();
            if (now - l.until <= 0) continue;
            it.remove();
            g.expired.put(l.id, new SeqRanges(l.seqs));
            if (l.stream) g.streamGiven.addAll(l.seqs);
            giveBack(g, l.seqs);
        }
    }

    /** Under {@link #lock}: lease {@code l} gives back what it still holds. */
    void release(Group g, Lease l) {
        g.leases.remove(l.id);
        if (l.stream) g.streamGiven.addAll(l.seqs);
        giveBack(g, l.seqs);
    }

    /**
     * Under {@link #lock}: a stream resumes after {@code upTo} — what streams of this cursor hold
     * or gave back, up to it, was delivered to the resuming client, and is acknowledged; what they
     * hold beyond it is given back. Other receivers' leases are not touched. How many acknowledged.
     */
    int resumeStreams(Group g, long upTo) {
        SeqRanges done = g.returned.removeCommon(g.streamGiven.removeUpTo(upTo));
        for (Lease l : List.copyOf(g.leases.values())) {
            if (!l.stream) continue;
            done.addAll(l.seqs.removeUpTo(upTo));
            release(g, l);
        }
        return ackSeqs(g, done);
    }

    /** Under {@link #lock}: every lease of {@code g} gives back what it holds. */
    void releaseAll(Group g) {
        for (Lease l : List.copyOf(g.leases.values())) release(g, l);
    }

    private void giveBack(Group g, SeqRanges seqs) {
        if (seqs.isEmpty()) return;
        g.returned.addAll(seqs);
        arrived.signalAll();
    }

    /**
     * Under {@link #lock}: up to {@code max} messages for a receiver of {@code g} — first what was
     * given back, in seq order, then what is new (skipping what was acknowledged out of order before
     * a restart). Their seqs go into {@code got}; what is new moves {@code handed}.
     */
    List<Entry> take(Group g, int max, SeqRanges got) {
        // after a restart, messages acknowledged out of order arrive from Kafka after the floor's were read
        if (!g.ackedAbove.isEmpty()) settleFloor(g);
        List<Entry> out = new ArrayList<>();
        while (out.size() < max && !g.returned.isEmpty()) {
            long[] r = g.returned.first();
            g.returned.removeRange(r[0]);
            long last = -1;
            int i = firstAfter(r[0] - 1);
            for (; i < entries.size() && entries.get(i).seq() <= r[1] && out.size() < max; i++) {
                out.add(entries.get(i));
                last = entries.get(i).seq();
            }
            if (last >= 0) got.add(r[0], last);
            if (i < entries.size() && entries.get(i).seq() <= r[1]) g.returned.add(entries.get(i).seq(), r[1]);
        }
        long prev = -1;
        for (int i = firstAfter(g.handed); i < entries.size() && out.size() < max; i++) {
            Entry e = entries.get(i);
            g.handed = e.seq();
            if (g.ackedAbove.contains(e.seq())) {
                prev = -1;
                continue;
            }
            out.add(e);
            if (prev >= 0) got.append(prev, e.seq());
            else got.add(e.seq(), e.seq());
            prev = e.seq();
        }
        return out;
    }

    /**
     * Under {@link #lock}: the seqs {@code seqs} (taken out of a lease or the returned set) are
     * acknowledged; the floor moves over what is now contiguous. How many messages that was.
     */
    int ackSeqs(Group g, SeqRanges seqs) {
        int n = 0;
        for (long[] r : seqs.list()) {
            if (r[1] <= g.acked) continue;
            long lo = Math.max(r[0], g.acked + 1);
            n += count(lo - 1, r[1]);
            g.ackedAbove.add(lo, r[1]);
        }
        settleFloor(g);
        return n;
    }

    /**
     * Under {@link #lock}: everything up to {@code upTo} on the cursor is acknowledged, whoever holds
     * it (the cumulative ack of a single receiver). How many messages that was.
     */
    int ackUpTo(Group g, long upTo) {
        if (upTo <= g.acked) return 0;
        int n = count(g.acked, upTo);
        for (long[] r : g.ackedAbove.removeUpTo(upTo).list()) n -= count(r[0] - 1, r[1]);
        for (var it = g.leases.values().iterator(); it.hasNext(); ) {
            Lease l = it.next();
            l.seqs.removeUpTo(upTo);
            if (l.seqs.isEmpty()) it.remove();
        }
        g.returned.removeUpTo(upTo);
        g.streamGiven.removeUpTo(upTo);
        g.acked = upTo;
        g.handed = Math.max(g.handed, upTo);
        settleFloor(g);
        return n;
    }

    /**
     * The floor moves over acknowledged seqs that follow it: the first message above the floor
     * being acknowledged means every one up to the end of its range is (messages arrive in seq
     * order, so none below it can still come).
     */
    private void settleFloor(Group g) {
        g.ackedAbove.removeUpTo(g.acked);
        while (true) {
            int i = firstAfter(g.acked);
            if (i >= entries.size()) break;
            long end = g.ackedAbove.endOfRangeAt(entries.get(i).seq());
            if (end < 0) break;
            g.acked = end;
            g.ackedAbove.removeUpTo(end);
        }
        g.handed = Math.max(g.handed, g.acked);
    }

    /** Under {@link #lock}: up to {@code max} entries after {@code after}, in order. */
    List<Entry> after(long after, int max) {
        int i = firstAfter(after);
        List<Entry> out = new ArrayList<>(Math.min(max, Math.max(0, entries.size() - i)));
        for (; i < entries.size() && out.size() < max; i++) out.add(entries.get(i));
        return out;
    }

    /** Under {@link #lock}: how many entries have a seq in (from, to]. */
    int count(long from, long to) {
        int n = 0;
        for (int i = firstAfter(from); i < entries.size() && entries.get(i).seq() <= to; i++) n++;
        return n;
    }

    /** Under {@link #lock}: entries after {@code after}. */
    int pendingAfter(long after) {
        return entries.size() - firstAfter(after);
    }

    private int firstAfter(long seq) {
        int lo = head, hi = entries.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (entries.get(mid).seq() <= seq) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** Under {@link #lock}: drops what every cursor acknowledged. */
    void trim() {
        long low = Long.MAX_VALUE;
        for (Group g : groups.values()) low = Math.min(low, g.acked);
        while (head < entries.size() && entries.get(head).seq() <= low) {
            bytes -= entries.get(head).bytes();
            entries.set(head++, null);
        }
        if (head > 1024 && head > entries.size() / 2) {
            entries.subList(0, head).clear();
            head = 0;
        }
    }

    /**
     * Under {@link #lock}: withdraws a sync message nobody took. True when withdrawn (it will never
     * be handed out), false when a receiver had already taken it.
     */
    boolean withdraw(long seq) {
        Group own = groups.get("");
        if (own != null && own.handed >= seq) return false;
        int i = firstAfter(seq - 1);
        if (i < entries.size() && entries.get(i).seq() == seq) {
            bytes -= entries.get(i).bytes();
            entries.remove(i);
        } else if (seq > highest) {
            withdrawn.add(seq);
        }
        return true;
    }

    /** Under {@link #lock}: a sync message at {@code seq} was taken by a receiver of the channel's own cursor. */
    boolean takenUpTo(long seq) {
        Group own = groups.get("");
        return own != null && own.handed >= seq;
    }

    void close(long closeSeq) {
        lock.lock();
        try {
            this.closeSeq = closeSeq;
            this.closed = true;
            // a record past the close that was already read is not part of the channel
            while (entries.size() > head && entries.get(entries.size() - 1).seq() > closeSeq) {
                bytes -= entries.remove(entries.size() - 1).bytes();
            }
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void wake() {
        lock.lock();
        try {
            arrived.signalAll();
            taken.signalAll();
        } finally {
            lock.unlock();
        }
    }

    boolean closed() { return closed; }
    long closeSeq() { return closeSeq; }

    int size() {
        lock.lock();
        try {
            return entries.size() - head;
        } finally {
            lock.unlock();
        }
    }

    long bytes() {
        lock.lock();
        try {
            return bytes;
        } finally {
            lock.unlock();
        }
    }
}
