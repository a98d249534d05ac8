package dev.andromeda.gateway.route;

import dev.andromeda.gateway.auth.BearerAuthFilter;
import dev.andromeda.gateway.problem.Problems;
import dev.andromeda.gateway.web.PathGuardFilter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Aliased URIs: {@code /a/{alias}} and {@code /a/{alias}/{rest…}} are served as the URI the alias
 * names (from naming, {@code PUT /names/{alias} {"uri": …}}) followed by the rest, with the same
 * method, query and body. An alias of {@code /fibrils/fb-…} therefore still reaches the fibril
 * after it migrated: the rewritten path goes through the ordinary routes, which resolve the id's
 * binding by generation. Runs after authentication and before the admin-path check and routing.
 */
public class AliasFilter implements WebFilter, Ordered {

    public static final int ORDER = BearerAuthFilter.ORDER + 20;
    public static final Pattern ALIAS_PATH = Pattern.compile("^/a/([a-z0-9][a-z0-9._-]{0,99})(/.*)?$");
    /** Exchange attribute: the alias the request came in through. */
    public static final String ALIAS_ATTR = AliasFilter.class.getName() + ".alias";

    private final NameLookups names;
    private final Problems problems;

    public AliasFilter(NameLookups names, Problems problems) {
        this.names = names;
        this.problems = problems;
    }

    @Override
    public int getOrder() { return ORDER; }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String raw = exchange.getRequest().getURI().getRawPath();
        if (!raw.equals("/a") && !raw.startsWith("/a/")) return chain.filter(exchange);
        Matcher m = ALIAS_PATH.matcher(raw);
        if (!m.matches()) {
            return problems.write(exchange, 400, "bad-request", "an aliased URI is /a/{alias}[/…] with an alias of [a-z0-9][a-z0-9._-]{0,99}");
        }
        String alias = m.group(1);
        String rest = m.group(2) == null ? "" : m.group(2);
        return names.alias(alias).flatMap(uri -> {
            String target = (uri.endsWith("/") && rest.startsWith("/") ? uri.substring(0, uri.length() - 1) : uri) + rest;
            String why = PathGuardFilter.unsafe(target);
            if (why == null) why = PathGuardFilter.badId(target);
            if (why != null) return problems.write(exchange, 400, "bad-path", why);
            exchange.getAttributes().put(ALIAS_ATTR, alias);
            return chain.filter(exchange.mutate().request(r -> r.path(target)).build());
        });
    }
}
