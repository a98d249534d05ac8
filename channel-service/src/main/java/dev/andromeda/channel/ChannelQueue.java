package dev.andromeda.channel;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.kafka.common.TopicPartition;
import tools.jackson.databind.JsonNode;

/**
 * The messages of one channel read from Kafka and not yet handed to a receiver, in order.
 * The dispatcher appends; receivers take under the same lock, after the cursor moved in
 * PostgreSQL — so a message leaves this queue only once it is recorded as delivered.
 */
final class ChannelQueue {

    /** One message as read from Kafka, with the offset of its record. */
    record Entry(long seq, JsonNode value, long offset, int bytes) {}

    final String id;
    final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final ArrayDeque<Entry> entries = new ArrayDeque<>();
    /** The highest seq enqueued or delivered: a record at or below it is a replay and is dropped. */
    private long highest;
    private long bytes;
    private volatile boolean closed;
    volatile TopicPartition partition;

    ChannelQueue(String id, long delivered, boolean closed) {
        this.id = id;
        this.highest = delivered;
        this.closed = closed;
    }

    /** Called by the dispatcher: false when the record was already enqueued or delivered. */
    boolean offer(Entry e) {
        lock.lock();
        try {
            if (e.seq() <= highest) return false;
            highest = e.seq();
            entries.addLast(e);
            bytes += e.bytes();
            arrived.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Under {@link #lock}: the first {@code max} entries, not removed. */
    List<Entry> peek(int max) {
        List<Entry> out = new ArrayList<>(Math.min(max, entries.size()));
        for (Entry e : entries) {
            if (out.size() >= max) break;
            out.add(e);
        }
        return out;
    }

    /** Under {@link #lock}: removes the first {@code n} entries (they were delivered). */
    void remove(int n) {
        for (int i = 0; i < n; i++) bytes -= entries.removeFirst().bytes();
    }

    /** Under {@link #lock}: waits for an arrival or a close, at most {@code nanos}; the time left. */
    long await(long nanos) throws InterruptedException {
        return arrived.awaitNanos(nanos);
    }

    void close() {
        closed = true;
        wake();
    }

    void wake() {
        lock.lock();
        try {
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
    }

    boolean closed() { return closed; }

    int size() {
        lock.lock();
        try {
            return entries.size();
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
