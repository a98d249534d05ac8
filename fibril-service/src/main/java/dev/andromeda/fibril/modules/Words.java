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

    /** word → count, without building the word list. */
    public static Map<String, Long> count(CharSequence text) {
        Map<String, Long> counts = new HashMap<>();
        for (String w : split(text)) counts.merge(w, 1L, Long::sum);
        return counts;
    }
}
