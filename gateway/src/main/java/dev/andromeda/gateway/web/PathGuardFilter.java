package dev.andromeda.gateway.web;

import dev.andromeda.common.id.Ids;
import dev.andromeda.gateway.problem.Problems;
import java.util.Locale;
import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Refuses, with a 400 problem and before anything else, request paths that could mean something
 * else to a service than to the gateway's routes: dot segments (plain or percent-encoded, once or
 * twice), encoded slashes and backslashes, empty segments ({@code //}), NUL and control
 * characters. Also checks the ids of {@code /fibrils/{id}} and {@code /ch/{id}}: a mistyped or
 * forged id (wrong prefix, form or check character) is a 400 without a look-up anywhere.
 */
public class PathGuardFilter implements WebFilter, Ordered {

    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 50;

    private final Problems problems;

    public PathGuardFilter(Problems problems) {
        this.problems = problems;
    }

    @Override
    public int getOrder() { return ORDER; }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String raw = exchange.getRequest().getURI().getRawPath();
        String why = unsafe(raw);
        if (why != null) return problems.write(exchange, 400, "bad-path", why);
        String bad = badId(raw);
        if (bad != null) return problems.write(exchange, 400, "bad-request", bad, null);
        return chain.filter(exchange);
    }

    /** Why a raw path is refused, or null when it is acceptable. */
    public static String unsafe(String raw) {
        if (raw == null || raw.isEmpty()) return null;
        if (!raw.startsWith("/")) return "the path must start with /";
        if (raw.length() > 4096) return "the path is too long";
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c < 0x20 || c == 0x7f) return "control characters are not allowed in paths";
            if (c == '\\') return "backslashes are not allowed in paths";
        }
        if (raw.contains("//")) return "empty path segments (//) are not allowed";
        String once = decodeOnce(raw);
        if (once == null) return "the path has a malformed percent-encoding";
        String lower = raw.toLowerCase(Locale.ROOT);
        String lowerOnce = once.toLowerCase(Locale.ROOT);
        for (String s : new String[] {lower, lowerOnce}) {
            if (s.contains("%2f") || s.contains("%5c")) return "encoded slashes and backslashes are not allowed in paths";
            if (s.contains("%00")) return "NUL is not allowed in paths";
        }
        if (once.indexOf('\\') >= 0 || once.indexOf('\0') >= 0) return "encoded backslashes and NUL are not allowed in paths";
        if (lowerOnce.contains("%2e")) return "double-encoded dots are not allowed in paths";
        for (String s : new String[] {raw, once, decodeOnce(once) == null ? once : decodeOnce(once)}) {
            for (String seg : s.split("/", -1)) {
                if (seg.equals(".") || seg.equals("..")) return "dot segments (. and ..) are not allowed in paths";
            }
        }
        return null;
    }

    /** A message when /fibrils/{id}… or /ch/{id}… carries an id that cannot be one. */
    public static String badId(String raw) {
        String[] seg = raw.split("/", 4);
        if (seg.length < 3 || seg[2].isEmpty()) return null;
        if (seg[1].equals("fibrils") && !Ids.isValid(seg[2], Ids.FIBRIL)) {
            return "'" + abbreviate(seg[2]) + "' is not a valid fb id (bad form or check character)";
        }
        if (seg[1].equals("ch") && !Ids.isValid(seg[2], Ids.CHANNEL)) {
            return "'" + abbreviate(seg[2]) + "' is not a valid ch id (bad form or check character)";
        }
        return null;
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }

    /** Percent-decodes once (bytes as ISO-8859-1 chars, enough to see structure), or null when malformed. */
    static String decodeOnce(String s) {
        if (s.indexOf('%') < 0) return s;
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) return null;
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) return null;
                sb.append((char) (hi * 16 + lo));
                i += 2;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
