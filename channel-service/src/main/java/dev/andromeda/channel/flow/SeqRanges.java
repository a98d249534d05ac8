package dev.andromeda.channel.flow;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A set of seqs held as disjoint inclusive ranges [lo, hi], kept compact: a lease of 5,000
 * messages in a row is one range. Seqs are record offsets + 1 and are not dense on a channel
 * (the shared topic interleaves channels), so a range means "every message of the channel whose
 * seq lies in [lo, hi]": whoever adds a range guarantees that no message in between belongs to
 * another set. Two ranges merge only when they overlap or touch, which keeps that true.
 */
final class SeqRanges {

    private final TreeMap<Long, Long> ranges = new TreeMap<>();

    SeqRanges() {}

    SeqRanges(SeqRanges other) {
        ranges.putAll(other.ranges);
    }

    /** From {lo1, hi1, lo2, hi2, …} as stored. */
    static SeqRanges of(long[] flat) {
        SeqRanges r = new SeqRanges();
        for (int i = 0; i + 1 < flat.length; i += 2) r.add(flat[i], flat[i + 1]);
        return r;
    }

    boolean isEmpty() { return ranges.isEmpty(); }

    void add(long lo, long hi) {
        if (hi < lo) return;
        Map.Entry<Long, Long> before = ranges.floorEntry(lo);
        if (before != null && before.getValue() >= lo - 1) {
            lo = before.getKey();
            hi = Math.max(hi, before.getValue());
            ranges.remove(before.getKey());
        }
        for (Map.Entry<Long, Long> next = ranges.ceilingEntry(lo); next != null && next.getKey() <= hi + 1; next = ranges.ceilingEntry(lo)) {
            hi = Math.max(hi, next.getValue());
            ranges.remove(next.getKey());
        }
        ranges.put(lo, hi);
    }

    void addAll(SeqRanges other) {
        other.ranges.forEach(this::add);
    }

    /** Extends the last range to {@code seq} when it ends at {@code prev} (the message just before), else starts one. */
    void append(long prev, long seq) {
        Map.Entry<Long, Long> last = ranges.lastEntry();
        if (last != null && last.getValue() == prev) ranges.put(last.getKey(), seq);
        else add(seq, seq);
    }

    boolean contains(long seq) {
        Map.Entry<Long, Long> e = ranges.floorEntry(seq);
        return e != null && e.getValue() >= seq;
    }

    /** The range holding {@code seq}: its upper end, or -1. */
    long endOfRangeAt(long seq) {
        Map.Entry<Long, Long> e = ranges.floorEntry(seq);
        return e != null && e.getValue() >= seq ? e.getValue() : -1;
    }

    /** Removes the seqs at or below {@code upTo}: they are answered. */
    SeqRanges removeUpTo(long upTo) {
        SeqRanges out = new SeqRanges();
        while (!ranges.isEmpty() && ranges.firstKey() <= upTo) {
            Map.Entry<Long, Long> e = ranges.pollFirstEntry();
            out.ranges.put(e.getKey(), Math.min(e.getValue(), upTo));
            if (e.getValue() > upTo) ranges.put(upTo + 1, e.getValue());
        }
        return out;
    }

    /** Removes from this set what {@code other} also holds: answered. */
    SeqRanges removeCommon(SeqRanges other) {
        SeqRanges out = new SeqRanges();
        for (Map.Entry<Long, Long> o : other.ranges.entrySet()) {
            for (long[] r : list()) {
                long lo = Math.max(r[0], o.getKey()), hi = Math.min(r[1], o.getValue());
                if (lo > hi) continue;
                ranges.remove(r[0]);
                if (r[0] < lo) ranges.put(r[0], lo - 1);
                if (hi < r[1]) ranges.put(hi + 1, r[1]);
                out.add(lo, hi);
            }
        }
        return out;
    }

    /** The ranges in order, each {lo, hi}. */
    List<long[]> list() {
        List<long[]> l = new ArrayList<>(ranges.size());
        ranges.forEach((lo, hi) -> l.add(new long[] {lo, hi}));
        return l;
    }

    /** The first range, or null. */
    long[] first() {
        Map.Entry<Long, Long> e = ranges.firstEntry();
        return e == null ? null : new long[] {e.getKey(), e.getValue()};
    }

    /** Removes exactly the range starting at {@code lo}. */
    void removeRange(long lo) {
        ranges.remove(lo);
    }

    /** {lo1, hi1, lo2, hi2, …}, as stored. */
    long[] flat() {
        long[] f = new long[ranges.size() * 2];
        int i = 0;
        for (Map.Entry<Long, Long> e : ranges.entrySet()) {
            f[i++] = e.getKey();
            f[i++] = e.getValue();
        }
        return f;
    }

    @Override
    public String toString() {
        return ranges.toString();
    }
}
