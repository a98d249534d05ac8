package dev.andromeda.gateway.auth;

import dev.andromeda.common.security.Caller;
import dev.andromeda.gateway.problem.Problems;
import java.util.List;
import java.util.Set;
import org.springframework.core.Ordered;
import org.springframework.http.HttpMethod;
import org.springframework.util.AntPathMatcher;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Admin-only operations, refused with 403 at the gateway before they reach a service (which
 * checks again with {@code Access.requireAdmin}): packet capture on a node
 * ({@code /net/node={n}/tcpdmp}), every change under {@code /sched/…} (draining nodes, placement
 * policy, registrations), and writing bindings ({@code PUT/DELETE /names/bindings/…}, which only
 * the mantle itself does). Runs after alias resolution, so an alias cannot reach them either.
 */
public class AdminPathFilter implements WebFilter, Ordered {

    public static final int ORDER = BearerAuthFilter.ORDER + 30;

    /** One rule: these methods (empty: all) on paths matching this Ant pattern. */
    public record Rule(Set<HttpMethod> methods, String pattern) {
        boolean matches(HttpMethod m, String path, AntPathMatcher matcher) {
            return (methods.isEmpty() || methods.contains(m)) && matcher.match(pattern, path);
        }
    }

    private static final Set<HttpMethod> WRITES = Set.of(HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE);

    public static final List<Rule> DEFAULT_RULES = List.of(
            new Rule(Set.of(), "/net/node=*/tcpdmp"),
            new Rule(Set.of(), "/net/node=*/tcpdmp/**"),
            new Rule(WRITES, "/sched/**"),
            new Rule(WRITES, "/names/bindings/**"));

    private final List<Rule> rules;
    private final Problems problems;
    private final AntPathMatcher matcher = new AntPathMatcher();

    public AdminPathFilter(List<Rule> rules, Problems problems) {
        this.rules = List.copyOf(rules);
        this.problems = problems;
    }

    @Override
    public int getOrder() { return ORDER; }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        HttpMethod method = exchange.getRequest().getMethod();
        for (Rule r : rules) {
            if (r.matches(method, path, matcher)) {
                Caller who = exchange.getAttribute(Caller.ATTRIBUTE);
                if (who == null || !who.isAdmin()) {
                    return problems.write(exchange, 403, "forbidden", method + " " + path + " needs the admin role"
                            + (who == null ? "" : "; " + who.subject() + " does not have it"));
                }
                break;
            }
        }
        return chain.filter(exchange);
    }
}
