package dev.andromeda.gateway.auth;

import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.InternalIdentity;
import dev.andromeda.gateway.problem.Problems;
import java.util.List;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Every request but the health probes, the API documentation, the public interfaces
 * ({@code POST /pub/{name}}, let through by {@code PublicInterfaceFilter}) and reads of
 * world-readable data ({@code GET/HEAD /fs/…} without a token, sent as {@link Caller#ANONYMOUS})
 * carries {@code Authorization: Bearer <JWT>}. Whatever a client sent as an internal header
 * ({@code X-M31-Identity}, {@code X-M31-Subject}, {@code X-M31-Roles}, {@code X-M31-Routed}) is
 * never sent upstream. The verified identity is kept as the exchange attribute {@link Caller#ATTRIBUTE};
 * {@code IdentityHeaderFilter} strips the client's copies, signs it into {@code X-M31-Identity} for
 * the service the request is routed to, which trusts nothing else, and adds {@code X-M31-Subject} /
 * {@code X-M31-Roles}, for logs only.
 */
public class BearerAuthFilter implements WebFilter, Ordered {

    public static final String SUBJECT_HEADER = "X-M31-Subject";
    public static final String ROLES_HEADER = "X-M31-Roles";
    public static final String ROUTED_HEADER = dev.andromeda.common.naming.Generations.ROUTED_HEADER;
    /** Set by filters before this one on requests that need no token (public interfaces). */
    public static final String OPEN_ATTR = BearerAuthFilter.class.getName() + ".open";
    /** Runs early: before the gateway's own filters and handler mappings, after nothing that routes. */
    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 100;

    public static final List<String> STRIPPED = List.of(SUBJECT_HEADER, ROLES_HEADER, InternalIdentity.HEADER, ROUTED_HEADER);

    private final TokenVerifier verifier;
    private final Problems problems;
    private final boolean anonymousReads;

    public BearerAuthFilter(TokenVerifier verifier, Problems problems) {
        this(verifier, problems, true);
    }

    /**
     * @param anonymousReads whether a token-less GET/HEAD under {@code /fs} goes to the store as
     *                       {@link Caller#ANONYMOUS} (the store answers world-readable data and 401s the rest)
     */
    public BearerAuthFilter(TokenVerifier verifier, Problems problems, boolean anonymousReads) {
        this.verifier = verifier;
        this.problems = problems;
        this.anonymousReads = anonymousReads;
    }

    @Override
    public int getOrder() { return ORDER; }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        // what a client claims in internal headers is dropped where the upstream request is made
        // (IdentityHeaderFilter, for every route): the request's headers are copied once, there
        if (isOpen(path) || Boolean.TRUE.equals(exchange.getAttribute(OPEN_ATTR))) {
            return chain.filter(exchange);
        }
        List<String> values = exchange.getRequest().getHeaders().getOrEmpty(HttpHeaders.AUTHORIZATION);
        if (values.isEmpty()) {
            if (anonymousReads && isAnonymousRead(exchange.getRequest().getMethod(), path)) {
                // only the absence of a token comes here: a wrong or expired one is refused below, never downgraded
                exchange.getAttributes().put(Caller.ATTRIBUTE, Caller.ANONYMOUS);
                return chain.filter(exchange);
            }
            return refuse(exchange, null, "an Authorization: Bearer token is required");
        }
        if (values.size() > 1) {
            return refuse(exchange, "invalid_request", "only one Authorization header is allowed");
        }
        String value = values.get(0).trim();
        if (value.length() < 7 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return refuse(exchange, "invalid_request", "the Authorization header must be a Bearer token");
        }
        String token = value.substring(7).trim();
        TokenVerifier.Identity known = verifier.known(token);
        if (known != null) {
            // a token seen before: no parsing, no signature check, no hop off the event loop
            exchange.getAttributes().put(Caller.ATTRIBUTE, Caller.of(known.subject(), known.roles()));
            return chain.filter(exchange);
        }
        Mono<TokenVerifier.Identity> verified = Mono.fromCallable(() -> verifier.verify(token));
        if (verifier.mayBlock()) verified = verified.subscribeOn(Schedulers.boundedElastic()); // a JWKS fetch blocks
        return verified
                .map(who -> {
                    exchange.getAttributes().put(Caller.ATTRIBUTE, Caller.of(who.subject(), who.roles()));
                    return exchange;
                })
                .onErrorResume(TokenVerifier.InvalidToken.class, e -> refuse(exchange, "invalid_token", e.getMessage()).then(Mono.empty()))
                .flatMap(chain::filter);
    }

    /**
     * World-readable data: reading under {@code /fs} needs no token; the store decides what the
     * anonymous caller may see (spaces and objects whose {@code readers} label holds {@code *}).
     * Nothing else — no write, no other service — is reached without one.
     */
    static boolean isAnonymousRead(HttpMethod method, String path) {
        return (method == HttpMethod.GET || method == HttpMethod.HEAD) && (path.equals("/fs") || path.startsWith("/fs/"));
    }

    /** Health probes and the API documentation need no token. */
    static boolean isOpen(String path) {
        return path.equals("/actuator/health") || path.startsWith("/actuator/health/")
                || path.equals("/openapi.yaml") || path.equals("/v3/api-docs")
                || path.equals("/swagger-ui") || path.equals("/swagger-ui.html") || path.startsWith("/swagger-ui/");
    }

    private Mono<Void> refuse(ServerWebExchange exchange, String error, String detail) {
        String challenge = error == null ? "Bearer realm=\"m31\""
                : "Bearer realm=\"m31\", error=\"" + error + "\", error_description=\"" + detail.replace("\"", "'") + "\"";
        return problems.write(exchange, 401, "unauthorized", detail, h -> h.set(HttpHeaders.WWW_AUTHENTICATE, challenge));
    }
}
