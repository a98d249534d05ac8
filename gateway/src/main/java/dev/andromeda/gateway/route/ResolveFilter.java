package dev.andromeda.gateway.route;

import dev.andromeda.gateway.problem.ProblemExceptionHandler;
import java.net.URI;
import java.util.Map;
import org.springframework.cloud.gateway.filter.GatewayFilterChain;
import org.springframework.cloud.gateway.filter.GlobalFilter;
import org.springframework.cloud.gateway.filter.RouteToRequestUrlFilter;
import org.springframework.cloud.gateway.route.Route;
import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.util.UriComponentsBuilder;
import reactor.core.publisher.Mono;

/**
 * Routes {@code /fibrils/{id}…} and {@code /net/node={id}…} to wherever naming says the id
 * lives now. Runs right after {@link RouteToRequestUrlFilter} on routes whose metadata carries
 * {@code m31-resolve: <kind>}, and replaces the placeholder host of the request URL with the
 * binding's url (same path and query).
 *
 * <p>When the target answers 404, 421 (a stale generation: the node no longer holds it) or 502, or cannot be reached, the resolution may be stale (the
 * fibril migrated; its generation grew): the cached binding is evicted and naming asked again;
 * if it now names another place or generation, the request is sent once more, there. Requests
 * with a body are re-sent only when the body was small enough to buffer
 * ({@code m31.gateway.replayable-body-size}); otherwise the first answer stands.
 */
@Component
public class ResolveFilter implements GlobalFilter, Ordered {

    public static final String RESOLVE_METADATA = "m31-resolve";
    public static final String ID_VARIABLE = "id";
    public static final int ORDER = RouteToRequestUrlFilter.ROUTE_TO_URL_FILTER_ORDER + 1;
    /** Exchange attribute: the binding the request is being sent through (its generation goes upstream). */
    public static final String BINDING_ATTR = ResolveFilter.class.getName() + ".binding";
    private static final String BASE_URL_ATTR = ResolveFilter.class.getName() + ".baseUrl";

    private final BindingResolver resolver;
    private final long replayableBody;

    public ResolveFilter(BindingResolver resolver, dev.andromeda.gateway.GatewaySettings settings) {
        this.resolver = resolver;
        this.replayableBody = settings.getReplayableBodySize().toBytes();
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, GatewayFilterChain chain) {
        Route route = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_ROUTE_ATTR);
        Object kind = route == null ? null : route.getMetadata().get(RESOLVE_METADATA);
        if (kind == null) {
            return chain.filter(exchange);
        }
        Map<String, String> vars = ServerWebExchangeUtils.getUriTemplateVariables(exchange);
        String id = vars.get(ID_VARIABLE);
        URI base = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_REQUEST_URL_ATTR);
        if (id == null || id.isEmpty() || base == null) {
            return chain.filter(exchange);
        }
        exchange.getAttributes().put(BASE_URL_ATTR, base);
        String k = kind.toString();
        if ("fibril".equals(k) && !dev.andromeda.common.id.Ids.isValid(id, dev.andromeda.common.id.Ids.FIBRIL)) {
            return Mono.error(new dev.andromeda.gateway.problem.GatewayProblem(400, "bad-request",
                    "'" + (id.length() > 80 ? id.substring(0, 80) + "…" : id) + "' is not a valid fb id (bad form or check character)"));
        }
        if ("node".equals(k) && !id.matches("[A-Za-z0-9-]{1,63}")) {
            return Mono.error(new dev.andromeda.gateway.problem.GatewayProblem(400, "bad-request", "'"
                    + (id.length() > 80 ? id.substring(0, 80) + "…" : id) + "' is not a node name ([A-Za-z0-9-]{1,63})"));
        }
        ServerHttpRequest req = exchange.getRequest();
        if (!hasBody(req.getHeaders())) {
            return attempt(exchange, chain, k, id, true);
        }
        long length = req.getHeaders().getContentLength();
        if (length < 0 || length > replayableBody) {
            return attempt(exchange, chain, k, id, false);
        }
        // small body: buffer it so that it can be sent a second time after a re-resolution
        return ServerWebExchangeUtils.cacheRequestBody(exchange,
                cached -> attempt(exchange.mutate().request(cached).build(), chain, k, id, true));
    }

    private static boolean hasBody(HttpHeaders h) {
        return h.getContentLength() > 0 || h.containsHeader(HttpHeaders.TRANSFER_ENCODING);
    }

    private record Outcome(boolean retry, Throwable error) {
        static final Outcome DONE = new Outcome(false, null);
    }

    private Mono<Void> attempt(ServerWebExchange exchange, GatewayFilterChain chain, String kind, String id, boolean mayRetry) {
        return resolver.resolve(kind, id).flatMap(binding -> {
            target(exchange, kind, id, binding);
            return chain.filter(exchange)
                    .then(Mono.fromSupplier(() -> mayRetry && stale(exchange.getResponse().getStatusCode())
                            ? new Outcome(true, null) : Outcome.DONE))
                    .onErrorResume(e -> mayRetry && ProblemExceptionHandler.isUnreachable(e)
                            ? Mono.just(new Outcome(true, e)) : Mono.error(e))
                    .flatMap(o -> o.retry() ? reresolve(exchange, chain, kind, id, binding, o.error()) : Mono.empty());
        });
    }

    private static boolean stale(HttpStatusCode status) {
        // 421: the node no longer holds it at the generation we resolved (Generations.notHere)
        return status != null && (status.value() == 404 || status.value() == 421 || status.value() == 502);
    }

    private Mono<Void> reresolve(ServerWebExchange exchange, GatewayFilterChain chain, String kind, String id,
                                 Binding used, Throwable error) {
        resolver.evict(kind, id, used);
        return resolver.resolve(kind, id).flatMap(now -> {
            if (now.samePlace(used)) {
                // nothing moved: the target's own answer (or failure) stands
                return error == null ? Mono.<Void>empty() : Mono.<Void>error(error);
            }
            // drop the first answer (closes its connection, removes its headers) and go again
            ServerWebExchangeUtils.reset(exchange);
            exchange.getResponse().setStatusCode(null);
            return attempt(exchange, chain, kind, id, false);
        }).onErrorResume(e -> e != error, e -> {
            // naming now says 404/410 (or is down): that answer replaces the target's
            ServerWebExchangeUtils.reset(exchange);
            return Mono.error(e);
        });
    }

    private static void target(ServerWebExchange exchange, String kind, String id, Binding b) {
        URI base = exchange.getAttribute(BASE_URL_ATTR);
        URI to = URI.create(b.url());
        String prefix = to.getRawPath() == null || to.getRawPath().equals("/") ? "" : stripSlash(to.getRawPath());
        URI url = UriComponentsBuilder.fromUri(base)
                .scheme(to.getScheme())
                .host(to.getHost())
                .port(to.getPort())
                .replacePath(prefix + base.getRawPath())
                .build(true)
                .toUri();
        exchange.getAttributes().put(ServerWebExchangeUtils.GATEWAY_REQUEST_URL_ATTR, url);
        exchange.getAttributes().put(BINDING_ATTR, b);
        String where = b.node() != null ? "node " + b.node() : to.getHost() + (to.getPort() > 0 ? ":" + to.getPort() : "");
        exchange.getAttributes().put(ProblemExceptionHandler.UPSTREAM_ATTR,
                "node".equals(kind) ? "node " + (b.node() != null ? b.node() : id) + " (" + b.url() + ")"
                        : kind + " " + id + " on " + where + " (" + b.url() + ")");
    }

    private static String stripSlash(String p) {
        return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }
}
