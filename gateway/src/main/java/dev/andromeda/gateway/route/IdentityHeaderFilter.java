package dev.andromeda.gateway.route;

import dev.andromeda.common.naming.Generations;
import dev.andromeda.common.security.Caller;
import dev.andromeda.gateway.auth.GatewaySigner;
import java.net.URI;
import org.springframework.cloud.gateway.filter.GatewayFilterChain;
import org.springframework.cloud.gateway.filter.GlobalFilter;
import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * The last word on what goes upstream: the signed {@code X-M31-Identity} of the verified caller,
 * bound to the method and the very path the request is sent to (after resolution, so it holds on
 * the node that serves it, and again on each re-send after a move); {@code X-M31-Routed}; and on
 * routes resolved through naming, the generation resolved ({@code X-M31-Generation}), so a node
 * that no longer holds the resource can answer 421 ({@code Generations.notHere}).
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
        return chain.filter(exchange.mutate().request(r -> r.headers(h -> {
            signer.sign(h, who, method, path);
            h.set(Generations.ROUTED_HEADER, "gateway");
            if (b != null && b.generation() != null) h.set(Generations.HEADER, Long.toString(b.generation()));
        })).build());
    }
}
