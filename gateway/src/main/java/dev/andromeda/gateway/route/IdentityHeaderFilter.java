package dev.andromeda.gateway.route;

import dev.andromeda.common.naming.Generations;
import dev.andromeda.common.security.Caller;
import dev.andromeda.gateway.auth.BearerAuthFilter;
import dev.andromeda.gateway.auth.GatewaySigner;
import dev.andromeda.gateway.web.TraceContextFilter;
import java.net.URI;
import org.springframework.cloud.gateway.filter.GatewayFilterChain;
import org.springframework.cloud.gateway.filter.GlobalFilter;
import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * The last word on what goes upstream, in one copy of the request's headers: whatever the client
 * sent as internal headers removed; the signed {@code X-M31-Identity} of the verified caller,
 * bound to the method and the very path the request is sent to (after resolution, so it holds on
 * the node that serves it, and again on each re-send after a move); {@code X-M31-Routed}; and on
 * routes resolved through naming, the generation resolved ({@code X-M31-Generation}), so a node
 * that no longer holds the resource can answer 421 ({@code Generations.notHere}); the
 * {@code X-M31-Subject} / {@code X-M31-Roles} log headers; a traceparent the gateway made.
 */
public class IdentityHeaderFilter implements GlobalFilter, Ordered {

    private final GatewaySigner signer;

    public IdentityHeaderFilter(GatewaySigner signer) {
        this.signer = signer;
    }

    @Override
    public int getOrder() { return ResolveFilter.ORDER + 1; }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, GatewayFilterChain chain) {
        URI url = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_REQUEST_URL_ATTR);
        Caller who = exchange.getAttribute(Caller.ATTRIBUTE);
        Binding b = exchange.getAttribute(ResolveFilter.BINDING_ATTR);
        String method = exchange.getRequest().getMethod().name();
        String path = url == null ? exchange.getRequest().getURI().getRawPath() : url.getRawPath();
        String traceparent = exchange.getAttribute(TraceContextFilter.GENERATED_ATTR);
        // the one copy of the request's headers on the way upstream
        return chain.filter(exchange.mutate().request(r -> r.headers(h -> {
            BearerAuthFilter.STRIPPED.forEach(h::remove);
            if (who != null && !who.isAnonymous()) {
                h.set(BearerAuthFilter.SUBJECT_HEADER, who.subject());
                h.set(BearerAuthFilter.ROLES_HEADER, String.join(",", who.roles()));
            }
            signer.sign(h, who, method, path);
            h.set(Generations.ROUTED_HEADER, "gateway");
            if (b != null && b.generation() != null) h.set(Generations.HEADER, Long.toString(b.generation()));
            if (traceparent != null) {
                h.set(TraceContextFilter.TRACEPARENT, traceparent);
                h.remove(TraceContextFilter.TRACESTATE); // a tracestate without its traceparent means nothing
            }
        })).build());
    }
}
