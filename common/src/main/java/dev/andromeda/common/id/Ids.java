package dev.andromeda.common.id;

import dev.andromeda.common.problem.M31Problem;
import java.security.SecureRandom;

/**
 * Resource identifiers: {@code <prefix>-<time><random><check>}. The 26-character body is
 * Crockford base32 of 48 bits of milliseconds and 80 random bits, so ids sort by creation time;
 * the last character is a weighted mod-37 check over the whole id, so a mistyped or forged id
 * (one changed character, two swapped) is rejected before any lookup.
 */
public final class Ids {

    public static final String FIBRIL = "fb";
    public static final String CHANNEL = "ch";

    private static final char[] BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();
    // 37 symbols, all unreserved in URIs and left alone by every URL encoder (not so "~")
    private static final String CHECK = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {}

    public static String newId(String prefix) {
        StringBuilder sb = new StringBuilder(prefix.length() + 28).append(prefix).append('-');
        long time = System.currentTimeMillis();
        for (int i = 9; i >= 0; i--) sb.append(BASE32[(int) ((time >>> (i * 5)) & 31)]);
        byte[] rnd = new byte[10];
        RANDOM.nextBytes(rnd);
        long hi = 0, lo = 0;
        for (int i = 0; i < 5; i++) hi = (hi << 8) | (rnd[i] & 0xff);
        for (int i = 5; i < 10; i++) lo = (lo << 8) | (rnd[i] & 0xff);
        for (int i = 7; i >= 0; i--) sb.append(BASE32[(int) ((hi >>> (i * 5)) & 31)]);
        for (int i = 7; i >= 0; i--) sb.append(BASE32[(int) ((lo >>> (i * 5)) & 31)]);
        sb.append(CHECK.charAt(checksum(sb, prefix.length() + 1)));
        return sb.toString();
    }

    /** True when {@code id} is well formed, of this prefix, and its check character matches. */
    public static boolean isValid(String id, String prefix) {
        if (id == null || id.length() != prefix.length() + 28 || !id.startsWith(prefix + "-")) return false;
        for (int i = prefix.length() + 1; i < id.length() - 1; i++) {
            if (indexOf(BASE32, id.charAt(i)) < 0) return false;
        }
        return CHECK.charAt(checksum(id.subSequence(0, id.length() - 1), prefix.length() + 1)) == id.charAt(id.length() - 1);
    }

    /** Checks an id from a request; a bad one is a 400 naming {@code field}. */
    public static String require(String id, String prefix, String field) {
        if (!isValid(id, prefix)) {
            throw M31Problem.badRequest(field, "'" + abbreviate(id) + "' is not a valid " + prefix + " id (bad form or check character)");
        }
        return id;
    }

    /**
     * Weighted sum mod 37 of the body's digit values (each below 32, weights below 37, 37 prime):
     * every single substitution and every swap of neighbours changes it. The prefix is folded in
     * so an id of one type never checks as another's.
     */
    private static int checksum(CharSequence s, int bodyStart) {
        long sum = 0;
        for (int i = 0; i < bodyStart; i++) sum += s.charAt(i);
        for (int i = bodyStart; i < s.length(); i++) sum += (long) (i - bodyStart + 1) * indexOf(BASE32, s.charAt(i));
        return (int) (sum % 37);
    }

    private static int indexOf(char[] alphabet, char c) {
        for (int i = 0; i < alphabet.length; i++) if (alphabet[i] == c) return i;
        return -1;
    }

    private static String abbreviate(String s) {
        if (s == null) return "";
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }
}
