package dev.andromeda.fibril.modules;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Words exactly as McIlroy's {@code tr -cs A-Za-z '\n' | tr A-Z a-z} makes them: maximal runs of
 * ASCII letters, lower-cased. Nothing else is a letter: not digits, not apostrophes, not é
 * (tr works on bytes in the C locale, and text here is bytes read as ISO-8859-1).
 *
 * <p>The byte versions are the hot path (a book is counted straight from the bytes it inflated
 * to, never turned into a String); the CharSequence versions serve JS strings.
 */
public final class Words {

    private Words() {}

    /** byte → its lower-case letter, or 0 for a byte that is not an ASCII letter. */
    private static final byte[] LOWER = new byte[256];

    static {
        for (int c = 'a'; c <= 'z'; c++) LOWER[c] = (byte) c;
        for (int c = 'A'; c <= 'Z'; c++) LOWER[c] = (byte) (c + 32);
    }

    static boolean letter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /** Distinct words and how often each occurs, in two parallel arrays of {@code size} entries. */
    public record Counts(String[] words, long[] counts, int size) {

        /** word → count (tests, and scripts that read a count by name). */
        public Map<String, Long> toMap() {
            Map<String, Long> m = new HashMap<>(size * 2);
            for (int i = 0; i < size; i++) m.put(words[i], counts[i]);
            return m;
        }

        /** The longest word's length (keys have a length limit in the store). */
        public int longest() {
            int max = 0;
            for (int i = 0; i < size; i++) max = Math.max(max, words[i].length());
            return max;
        }
    }

    public static List<String> split(CharSequence text) {
        List<String> out = new ArrayList<>();
        int n = text.length();
        char[] buf = new char[64];
        int len = 0;
        for (int i = 0; i <= n; i++) {
            char c = i < n ? text.charAt(i) : ' ';
            if (letter(c)) {
                if (len == buf.length) buf = Arrays.copyOf(buf, len * 2);
                buf[len++] = c <= 'Z' ? (char) (c + 32) : c;
            } else if (len > 0) {
                out.add(new String(buf, 0, len));
                len = 0;
            }
        }
        return out;
    }

    /** {@link #split(CharSequence)} of the first {@code length} bytes of {@code text} read as ISO-8859-1. */
    public static List<String> split(byte[] text, int length) {
        List<String> out = new ArrayList<>();
        byte[] buf = new byte[64];
        int i = 0;
        while (i < length) {
            while (i < length && LOWER[text[i] & 0xff] == 0) i++;
            int len = 0;
            byte c;
            while (i < length && (c = LOWER[text[i] & 0xff]) != 0) {
                if (len == buf.length) buf = Arrays.copyOf(buf, len * 2);
                buf[len++] = c;
                i++;
            }
            if (len > 0) out.add(new String(buf, 0, len, StandardCharsets.ISO_8859_1));
        }
        return out;
    }

    public static Map<String, Long> count(CharSequence text) {
        return countChars(text).toMap();
    }

    /**
     * Counts without building the word list: one pass into an open-addressing table hashed on the
     * lower-cased letters as they are read; a word is copied only the first time it is seen (a
     * book of 2 MB has ~400,000 words but ~20,000 distinct ones).
     */
    public static Counts countChars(CharSequence text) {
        int n = text.length();
        byte[] bytes = new byte[n];
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            // a char past Latin-1 is no ASCII letter: any non-letter byte stands for it
            bytes[i] = c < 256 ? (byte) c : (byte) ' ';
        }
        return count(bytes, n);
    }

    /** The words of the first {@code length} bytes of {@code text} (ISO-8859-1), counted. */
    public static Counts count(byte[] text, int length) {
        Table t = new Table();
        int i = 0;
        while (i < length) {
            while (i < length && LOWER[text[i] & 0xff] == 0) i++;
            int start = i;
            int h = 0;
            byte c;
            while (i < length && (c = LOWER[text[i] & 0xff]) != 0) {
                h = 31 * h + c;
                i++;
            }
            if (i > start) t.add(text, start, i - start, h);
        }
        return t.counts();
    }

    /**
     * Open addressing, linear probing, over a pool holding each distinct word's lower-cased bytes
     * once; a slot keeps the word's offset, length, hash and count in parallel arrays.
     */
    private static final class Table {
        int[] offsets = new int[1 << 15];
        int[] lengths = new int[1 << 15];
        int[] hashes = new int[1 << 15];
        long[] counts = new long[1 << 15];
        byte[] pool = new byte[1 << 17];
        int poolSize;
        int size;

        void add(byte[] text, int start, int len, int h) {
            int mask = lengths.length - 1;
            int i = mix(h) & mask;
            while (true) {
                int l = lengths[i];
                if (l == 0) {
                    insert(i, text, start, len, h);
                    return;
                }
                if (hashes[i] == h && l == len && same(offsets[i], text, start, len)) {
                    counts[i]++;
                    return;
                }
                i = (i + 1) & mask;
            }
        }

        private boolean same(int off, byte[] text, int start, int len) {
            byte[] p = pool;
            for (int j = 0; j < len; j++) {
                byte b = text[start + j];
                // most letters are lower case already: the table only for the others
                if (p[off + j] != b && p[off + j] != LOWER[b & 0xff]) return false;
            }
            return true;
        }

        private void insert(int slot, byte[] text, int start, int len, int h) {
            if (poolSize + len > pool.length) pool = Arrays.copyOf(pool, Math.max(pool.length * 2, poolSize + len));
            for (int j = 0; j < len; j++) pool[poolSize + j] = LOWER[text[start + j] & 0xff];
            offsets[slot] = poolSize;
            lengths[slot] = len;
            hashes[slot] = h;
            counts[slot] = 1;
            poolSize += len;
            if (++size * 2 > lengths.length) grow();
        }

        private static int mix(int h) {
            h ^= h >>> 16;
            h *= 0x85ebca6b;
            return h ^ (h >>> 13);
        }

        private void grow() {
            int[] oo = offsets, ol = lengths, oh = hashes;
            long[] oc = counts;
            int cap = ol.length * 2;
            offsets = new int[cap];
            lengths = new int[cap];
            hashes = new int[cap];
            counts = new long[cap];
            int mask = cap - 1;
            for (int j = 0; j < ol.length; j++) {
                if (ol[j] == 0) continue;
                int i = mix(oh[j]) & mask;
                while (lengths[i] != 0) i = (i + 1) & mask;
                offsets[i] = oo[j];
                lengths[i] = ol[j];
                hashes[i] = oh[j];
                counts[i] = oc[j];
            }
        }

        Counts counts() {
            String[] words = new String[size];
            long[] n = new long[size];
            int k = 0;
            for (int i = 0; i < lengths.length; i++) {
                if (lengths[i] == 0) continue;
                words[k] = new String(pool, offsets[i], lengths[i], StandardCharsets.ISO_8859_1);
                n[k++] = counts[i];
            }
            return new Counts(words, n, size);
        }
    }
}
