package dev.andromeda.gateway.auth;

import dev.andromeda.gateway.problem.Problems;
import java.util.List;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Every request but the health probes carries {@code Authorization: Bearer <JWT>} (HS256,
 * issuer m31, unexpired). The verified identity goes downstream as {@code X-M31-Subject} /
 * {@code X-M31-Roles}; whatever a client sent under those names is stripped first.
 *
 * <p>Weak point, on purpose for now: downstream services trust these plain headers, so they
 * must only be reachable through the gateway. A signed internal header is a later issue.
 */
public class BearerAuthFilter implements WebFilter, Ordered {

    public static final String SUBJECT_HEADER = "X-M31-Subject";
    public static final String ROLES_HEADER = "X-M31-Roles";
    /** Runs early: before the gateway's own filters and handler mappings, after nothing that routes. */
    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 100;

    private static final List<String> STRIPPED = List.of(SUBJECT_HEADER, ROLES_HEADER);

    private final TokenVerifier verifier;
    private final Problems problems;

    public BearerAuthFilter(TokenVerifier verifier, Problems problems) {
        this.verifier = verifier;
        this.problems = problems;
    }

    @Override
    public int getOrder() { return ORDER; }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        if (isOpen(path)) {
            return chain.filter(exchange.mutate().request(r -> r.headers(h -> STRIPPED.forEach(h::remove))).build());
        }
        List<String> values = exchange.getRequest().getHeaders().getOrEmpty(HttpHeaders.AUTHORIZATION);
        if (values.isEmpty()) {
            return refuse(exchange, null, "an Authorization: Bearer token is required");
        }
        if (values.size() > 1) {
            return refuse(exchange, "invalid_request", "only one Authorization header is allowed");
        }
        String value = values.get(0).trim();
        if (value.length() < 7 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return refuse(exchange, "invalid_request", "the Authorization header must be a Bearer token");
        }
        TokenVerifier.Identity who;
        try {
            who = verifier.verify(value.substring(7).trim());
        } catch (TokenVerifier.InvalidToken e) {
            return refuse(exchange, "invalid_token", e.getMessage());
        }
        ServerHttpRequest request = exchange.getRequest().mutate().headers(h -> {
            STRIPPED.forEach(h::remove);
            h.set(SUBJECT_HEADER, who.subject());
            h.set(ROLES_HEADER, String.join(",", who.roles()));
        }).build();
        return chain.filter(exchange.mutate().request(request).build());
    }

    static boolean isOpen(String path) {
        return path.equals("/actuator/health") || path.startsWith("/actuator/health/");
    }

    private Mono<Void> refuse(ServerWebExchange exchange, String error, String detail) {
        String challenge = error == null ? "Bearer realm=\"m31\""
                : "Bearer realm=\"m31\", error=\"" + error + "\", error_description=\"" + detail.replace("\"", "'") + "\"";
        return problems.write(exchange, 401, "unauthorized", detail, h -> h.set(HttpHeaders.WWW_AUTHENTICATE, challenge));
    }
}
