package dev.andromeda.fibril.modules;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Words exactly as McIlroy's {@code tr -cs A-Za-z '\n' | tr A-Z a-z} makes them: maximal runs of
 * ASCII letters, lower-cased. Nothing else is a letter: not digits, not apostrophes, not é
 * (tr works on bytes in the C locale, and text here is bytes read as ISO-8859-1).
 */
public final class Words {

    private Words() {}

    static boolean letter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    public static List<String> split(CharSequence text) {
        List<String> out = new ArrayList<>();
        int n = text.length();
        char[] buf = new char[64];
        int len = 0;
        for (int i = 0; i <= n; i++) {
            char c = i < n ? text.charAt(i) : ' ';
            if (letter(c)) {
                if (len == buf.length) buf = java.util.Arrays.copyOf(buf, len * 2);
                buf[len++] = c <= 'Z' ? (char) (c + 32) : c;
            } else if (len > 0) {
                out.add(new String(buf, 0, len));
                len = 0;
            }
        }
        return out;
    }

    /**
     * word → count, without building the word list: one pass over the text into an open-addressing
     * table hashed on the lower-cased letters as they are read; a String is made only for a word
     * seen for the first time (a book of 2 MB has ~400,000 words but ~20,000 distinct ones).
     */
    public static Map<String, Long> count(CharSequence text) {
        Table t = new Table();
        int n = text.length();
        char[] buf = new char[64];
        int len = 0;
        int h = 0;
        for (int i = 0; i <= n; i++) {
            char c = i < n ? text.charAt(i) : ' ';
            if (letter(c)) {
                if (len == buf.length) buf = java.util.Arrays.copyOf(buf, len * 2);
                char lc = c <= 'Z' ? (char) (c + 32) : c;
                buf[len++] = lc;
                h = 31 * h + lc;
            } else if (len > 0) {
                t.add(buf, len, h);
                len = 0;
                h = 0;
            }
        }
        Map<String, Long> counts = new HashMap<>(t.size * 2);
        for (int i = 0; i < t.keys.length; i++) if (t.keys[i] != null) counts.put(t.keys[i], t.counts[i]);
        return counts;
    }

    /** Open addressing, linear probing; the hash is String.hashCode of the word. */
    private static final class Table {
        String[] keys = new String[1 << 14];
        int[] hashes = new int[1 << 14];
        long[] counts = new long[1 << 14];
        int size;

        void add(char[] w, int len, int h) {
            int mask = keys.length - 1;
            int i = mix(h) & mask;
            while (true) {
                String k = keys[i];
                if (k == null) {
                    keys[i] = new String(w, 0, len);
                    hashes[i] = h;
                    counts[i] = 1;
                    if (++size * 2 > keys.length) grow();
                    return;
                }
                if (hashes[i] == h && k.length() == len && same(k, w, len)) {
                    counts[i]++;
                    return;
                }
                i = (i + 1) & mask;
            }
        }

        private static boolean same(String k, char[] w, int len) {
            for (int j = 0; j < len; j++) if (k.charAt(j) != w[j]) return false;
            return true;
        }

        private static int mix(int h) {
            h ^= h >>> 16;
            h *= 0x85ebca6b;
            return h ^ (h >>> 13);
        }

        private void grow() {
            String[] ok = keys;
            int[] oh = hashes;
            long[] oc = counts;
            keys = new String[ok.length * 2];
            hashes = new int[ok.length * 2];
            counts = new long[ok.length * 2];
            int mask = keys.length - 1;
            for (int j = 0; j < ok.length; j++) {
                if (ok[j] == null) continue;
                int i = mix(oh[j]) & mask;
                while (keys[i] != null) i = (i + 1) & mask;
                keys[i] = ok[j];
                hashes[i] = oh[j];
                counts[i] = oc[j];
            }
        }
    }
}
