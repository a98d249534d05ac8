package dev.andromeda.channel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.kafka.common.TopicPartition;
import tools.jackson.databind.util.RawValue;

/**
 * The messages of one channel read from Kafka and not yet acknowledged by every cursor, in seq
 * order, and the channel's cursors ("groups"). A group has {@code acked} (durable, in PostgreSQL)
 * and {@code handed} (what receivers were given; above acked only while a manual-ack lease is
 * out). The dispatcher appends; receivers, ackers and sync senders work under {@link #lock}.
 */
final class ChannelQueue {

    /** One message as read from Kafka: seq is its record's offset + 1, json its JSON text (checked when sent). */
    record Entry(long seq, byte[] json) {
        int bytes() { return json.length; }
        /** Written into answers as it is, not parsed and written again. */
        RawValue value() { return new RawValue(new String(json, java.nio.charset.StandardCharsets.UTF_8)); }
    }

    /** A receive cursor. */
    static final class Group {
        final String id;
        long acked;
        long handed;
        /** The highest seq ever handed out (a late ack may reach it). */
        long everHanded;
        long received;
        long leaseUntil; // System.nanoTime() deadline of the lease on (acked, handed]
        /** Grows when a stream resumes (Last-Event-ID / after=): the streams begun before it end. */
        long streamEpoch;

        Group(String id, long acked, long received) {
            this.id = id;
            this.acked = acked;
            this.handed = acked;
            this.everHanded = acked;
            this.received = received;
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
            groups.put(g.id(), new Group(g.id(), g.cursor(), g.received()));
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
        Group g = new Group(grp, from.acked, 0);
        groups.put(grp, g);
        return g;
    }

    /** Under {@link #lock}: an expired lease gives its messages back (in order, to whoever receives next). */
    void expire(Group g, long now) {
        if (g.handed > g.acked && now - g.leaseUntil > 0) {
            g.handed = g.acked;
            arrived.signalAll();
        }
    }

    /** Under {@link #lock}: gives back what {@code g} has leased. */
    void release(Group g) {
        if (g.handed > g.acked) {
            g.handed = g.acked;
            arrived.signalAll();
        }
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
