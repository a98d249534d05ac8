package dev.andromeda.gateway.pub;

import dev.andromeda.common.security.Caller;
import dev.andromeda.gateway.auth.BearerAuthFilter;
import dev.andromeda.gateway.problem.Problems;
import dev.andromeda.gateway.route.NameLookups;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Public interfaces: {@code POST /pub/{name}} needs no token. naming says which channel the name
 * exposes ({@code PUT /names/pub/{name} {"uri": "/ch/<id>"}}, by its owner); the request becomes
 * exactly {@code POST /ch/<id>/messages} (no query, no credentials forwarded), sent as the
 * anonymous caller. Any other method on a public name is 405, any sub-path 404: nothing but that
 * one send endpoint becomes public.
 */
public class PublicInterfaceFilter implements WebFilter, Ordered {

    public static final int ORDER = BearerAuthFilter.ORDER - 10;
    public static final Pattern PUB_PATH = Pattern.compile("^/pub/([a-z0-9][a-z0-9-]{0,62})$");
    public static final String PUB_ATTR = PublicInterfaceFilter.class.getName() + ".name";

    private final NameLookups names;
    private final Problems problems;

    public PublicInterfaceFilter(NameLookups names, Problems problems) {
        this.names = names;
        this.problems = problems;
    }

    @Override
    public int getOrder() { return ORDER; }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String raw = exchange.getRequest().getURI().getRawPath();
        if (!raw.equals("/pub") && !raw.startsWith("/pub/")) return chain.filter(exchange);
        Matcher m = PUB_PATH.matcher(raw);
        if (!m.matches()) {
            return problems.write(exchange, 404, "not-found", "a public interface is POST /pub/{name}, nothing under it");
        }
        if (exchange.getRequest().getMethod() != HttpMethod.POST) {
            return problems.write(exchange, 405, "method-not-allowed", "a public interface only accepts POST",
                    h -> h.setAllow(java.util.Set.of(HttpMethod.POST)));
        }
        String name = m.group(1);
        return names.pub(name).flatMap(uri -> {
            if (!uri.matches("^/ch/ch-[0-9A-Z_]+$")) {
                return problems.write(exchange, 502, "bad-gateway", "public name " + name + " does not name a channel");
            }
            exchange.getAttributes().put(BearerAuthFilter.OPEN_ATTR, Boolean.TRUE);
            exchange.getAttributes().put(Caller.ATTRIBUTE, Caller.publicSender(name));
            exchange.getAttributes().put(PUB_ATTR, name);
            java.net.URI to = org.springframework.web.util.UriComponentsBuilder.fromUri(exchange.getRequest().getURI())
                    .replacePath(uri + "/messages").replaceQuery(null).build(true).toUri();
            return chain.filter(exchange.mutate().request(r -> r
                    .uri(to)
                    .headers(h -> {
                        h.remove(HttpHeaders.AUTHORIZATION);
                        h.remove(HttpHeaders.COOKIE);
                    })).build());
        });
    }
}
