package dev.andromeda.gateway.web;

import java.util.concurrent.ThreadLocalRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;
import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * W3C trace context: a valid {@code traceparent} from the client goes upstream unchanged (and
 * {@code tracestate} with it); a missing or malformed one is replaced by a new one (version 00,
 * random trace and parent ids, sampled). Either way the response carries the traceparent the
 * request was sent upstream with, so a client can find its request in the services' logs.
 */
public class TraceContextFilter implements WebFilter, Ordered {

    public static final String TRACEPARENT = "traceparent";
    public static final String TRACESTATE = "tracestate";
    static final Pattern VALID = Pattern.compile("^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$");
    /**
     * Exchange attribute: the traceparent made here for a request that came without a valid one.
     * {@code IdentityHeaderFilter} puts it on the upstream request (dropping the client's
     * {@code tracestate}, which means nothing without its traceparent), so that the request's
     * headers are copied once, there, rather than once per filter.
     */
    public static final String GENERATED_ATTR = TraceContextFilter.class.getName() + ".generated";

    @Override
    public int getOrder() { return Ordered.HIGHEST_PRECEDENCE + 10; }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        var given = exchange.getRequest().getHeaders().getOrEmpty(TRACEPARENT);
        String tp = given.size() == 1 ? given.get(0).trim() : null;
        if (tp != null && !isValid(tp)) tp = null;
        if (tp == null) {
            String fresh = generate();
            exchange.getResponse().getHeaders().set(TRACEPARENT, fresh);
            exchange.getAttributes().put(GENERATED_ATTR, fresh);
            return chain.filter(exchange);
        }
        exchange.getResponse().getHeaders().set(TRACEPARENT, tp);
        return chain.filter(exchange);
    }

    public static boolean isValid(String tp) {
        if (!VALID.matcher(tp).matches()) return false;
        if (tp.startsWith("ff")) return false;
        if (tp.substring(3, 35).chars().allMatch(c -> c == '0')) return false;
        return !tp.substring(36, 52).chars().allMatch(c -> c == '0');
    }

    public static String generate() {
        // trace ids must be unique and random-looking, not secret: no need for SecureRandom's lock and syscalls
        ThreadLocalRandom random = ThreadLocalRandom.current();
        byte[] trace = new byte[16];
        byte[] parent = new byte[8];
        do { random.nextBytes(trace); } while (allZero(trace));
        do { random.nextBytes(parent); } while (allZero(parent));
        HexFormat hex = HexFormat.of();
        return "00-" + hex.formatHex(trace) + "-" + hex.formatHex(parent) + "-01";
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }
}
