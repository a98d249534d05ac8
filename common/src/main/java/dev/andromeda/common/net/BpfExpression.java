package dev.andromeda.common.net;

import dev.andromeda.common.problem.M31Problem;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A packet filter expression, accepted only when it parses under a strict subset of the pcap
 * filter grammar, and then re-printed canonically from its tokens (never passed on as given):
 * <pre>
 *   expr      := term (("or" | "||") term)*
 *   term      := factor (("and" | "&&") factor)*
 *   factor    := ("not" | "!") factor | "(" expr ")" | primitive
 *   primitive := proto                                   ip ip6 arp rarp tcp udp icmp icmp6 sctp
 *              | [proto] [dir] "host" address            dir: src | dst
 *              | [proto] [dir] "net" address ["/" bits]
 *              | [proto] [dir] "port" number             0..65535
 *              | [proto] [dir] "portrange" number "-" number
 *              | ("less" | "greater") number
 *              | "vlan" [number]
 * </pre>
 * Addresses are IPv4 dotted quads or IPv6 hex groups. Anything else — shell metacharacters,
 * quotes, backslashes, options (a leading '-'), other keywords, more than 256 characters or 64
 * tokens — is a 400 naming the field.
 */
public final class BpfExpression {

    public static final int MAX_LENGTH = 256;
    public static final int MAX_TOKENS = 64;
    private static final Set<String> PROTOS = Set.of("ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "sctp");
    private static final Set<String> DIRS = Set.of("src", "dst");
    private static final Pattern NUMBER = Pattern.compile("^[0-9]{1,5}$");
    private static final Pattern IPV4 = Pattern.compile("^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$");
    private static final Pattern IPV6 = Pattern.compile("^[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}$");

    private final String canonical;

    private BpfExpression(String canonical) {
        this.canonical = canonical;
    }

    /** The canonical text handed to tcpdump as one argument (empty: capture everything). */
    public String canonical() { return canonical; }

    @Override
    public String toString() { return canonical; }

    /** Parses {@code text} (null or blank: no filter), or throws a 400 problem on field {@code field}. */
    public static BpfExpression parse(String text, String field) {
        if (text == null || text.isBlank()) return new BpfExpression("");
        if (text.length() > MAX_LENGTH) throw bad(field, "is longer than " + MAX_LENGTH + " characters");
        List<String> tokens = tokenize(text, field);
        if (tokens.size() > MAX_TOKENS) throw bad(field, "has more than " + MAX_TOKENS + " tokens");
        Parser p = new Parser(tokens, field);
        p.expr(0);
        if (p.pos != tokens.size()) throw bad(field, "has an unexpected '" + tokens.get(p.pos) + "'");
        return new BpfExpression(String.join(" ", tokens));
    }

    static List<String> tokenize(String text, String field) {
        List<String> out = new ArrayList<>();
        String s = text.toLowerCase(Locale.ROOT);
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == ' ' || c == '\t') { i++; continue; }
            if (c == '(' || c == ')' || c == '!' || c == '/' || c == '-') {
                if (c == '-' && out.isEmpty()) throw bad(field, "must not start with '-'");
                out.add(String.valueOf(c));
                i++;
                continue;
            }
            if (c == '&' || c == '|') {
                if (i + 1 < s.length() && s.charAt(i + 1) == c) {
                    out.add(c == '&' ? "and" : "or");
                    i += 2;
                    continue;
                }
                throw bad(field, "has a '" + c + "' that is not part of && or ||");
            }
            if (Character.isLetterOrDigit(c) && c < 128 || c == ':' || c == '.') {
                int j = i;
                while (j < s.length()) {
                    char d = s.charAt(j);
                    if (d < 128 && (Character.isLetterOrDigit(d) || d == ':' || d == '.')) j++;
                    else break;
                }
                out.add(s.substring(i, j));
                i = j;
                continue;
            }
            throw bad(field, "has a character that is not allowed: '" + (c < 0x20 || c == 0x7f ? "\\u" + String.format("%04x", (int) c) : String.valueOf(c)) + "'");
        }
        return out;
    }

    private static final class Parser {
        final List<String> t;
        final String field;
        int pos;

        Parser(List<String> t, String field) {
            this.t = t;
            this.field = field;
        }

        String peek() { return pos < t.size() ? t.get(pos) : null; }

        String next(String what) {
            if (pos >= t.size()) throw bad(field, "ends where " + what + " was expected");
            return t.get(pos++);
        }

        void expr(int depth) {
            if (depth > 16) throw bad(field, "nests too deeply");
            term(depth);
            while ("or".equals(peek())) { pos++; term(depth); }
        }

        void term(int depth) {
            factor(depth);
            while ("and".equals(peek())) { pos++; factor(depth); }
        }

        void factor(int depth) {
            String tok = peek();
            if (tok == null) throw bad(field, "ends where a filter was expected");
            if (tok.equals("not") || tok.equals("!")) {
                pos++;
                factor(depth + 1);
            } else if (tok.equals("(")) {
                pos++;
                expr(depth + 1);
                if (!")".equals(next("')'"))) throw bad(field, "has an unclosed '('");
            } else {
                primitive();
            }
        }

        void primitive() {
            String tok = next("a filter");
            if (tok.equals("less") || tok.equals("greater")) {
                number(next("a length"), 65535);
                return;
            }
            if (tok.equals("vlan")) {
                if (peek() != null && NUMBER.matcher(peek()).matches()) number(next("a vlan id"), 4095);
                return;
            }
            boolean proto = PROTOS.contains(tok);
            if (proto) {
                String after = peek();
                if (after == null || !(DIRS.contains(after) || isQualifier(after))) return; // a bare protocol
                tok = next("a qualifier");
            }
            if (DIRS.contains(tok)) tok = next("host, net, port or portrange");
            switch (tok) {
                case "host" -> address(next("an address"));
                case "net" -> {
                    address(next("a network"));
                    if ("/".equals(peek())) { pos++; number(next("a prefix length"), 128); }
                }
                case "port" -> number(next("a port"), 65535);
                case "portrange" -> {
                    number(next("a port"), 65535);
                    if (!"-".equals(next("'-'"))) throw bad(field, "needs a range such as portrange 1-1024");
                    number(next("a port"), 65535);
                }
                default -> throw bad(field, "has an unknown keyword '" + tok + "'");
            }
        }

        boolean isQualifier(String s) {
            return s.equals("host") || s.equals("net") || s.equals("port") || s.equals("portrange");
        }

        void number(String s, int max) {
            if (!NUMBER.matcher(s).matches() || Integer.parseInt(s) > max) throw bad(field, "has '" + s + "' where a number up to " + max + " was expected");
        }

        void address(String s) {
            if (!IPV4.matcher(s).matches() && !IPV6.matcher(s).matches()) throw bad(field, "has '" + s + "' where an IPv4 or IPv6 address was expected");
        }
    }

    private static M31Problem bad(String field, String why) {
        return M31Problem.badRequest(field, "the filter expression " + why);
    }
}
