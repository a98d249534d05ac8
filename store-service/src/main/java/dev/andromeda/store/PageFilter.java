package dev.andromeda.store;

import dev.andromeda.api.StoreApi;
import dev.andromeda.common.security.InternalIdentityFilter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.core.Ordered;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.filter.ServerHttpObservationFilter;

/**
 * The JSON page of a query ({@code GET /fs/{space}?…}), the store's most frequent read, answered
 * before Spring MVC's dispatch: on a 100-row page of a 1,000,000-object space, handler lookup
 * among the generated interface's mappings, argument resolution and the interceptors were ~45%
 * of the request thread's samples (JFR), more than the query. It runs after the identity filter,
 * so the caller is known and checked as in {@link PageController}, which it shares its code with.
 * Only the plain case is taken here; anything else — another format, a watch, {@code ?meta}, an
 * Accept that is not plainly JSON, and every error (a bad filter, an unknown space, a refused
 * caller) — goes on to the dispatcher, which answers it as before: a read has no effect, so
 * doing it there again costs only time, on a path that is not the common one.
 */
@Component
class PageFilter extends OncePerRequestFilter implements Ordered {

    private static final String PREFIX = "/fs/";
    private final PageController pages;

    PageFilter(PageController pages) {
        this.pages = pages;
    }

    @Override
    public int getOrder() { return InternalIdentityFilter.ORDER + 10; }

    @Override
    protected void doFilterInternal(HttpServletRequest req, HttpServletResponse resp, FilterChain chain)
            throws ServletException, IOException {
        String space = plainPage(req);
        if (space != null) {
            try {
                // the request's metrics carry its route, as the dispatcher's mapping would have set it
                ServerHttpObservationFilter.findObservationContext(req).ifPresent(c -> c.setPathPattern(StoreApi.PATH_QUERY_SPACE));
                pages.write(space, req.getParameter("fmt"), req.getParameter("sort"), req, resp);
                return;
            } catch (RuntimeException e) {
                if (resp.isCommitted()) throw e;
                resp.reset(); // nothing was sent: the dispatcher answers it, with its problem details
            }
        }
        chain.doFilter(req, resp);
    }

    /** The space of a plain JSON page request, else null. */
    static String plainPage(HttpServletRequest req) {
        if (!"GET".equals(req.getMethod())) return null;
        String uri = req.getRequestURI();
        if (!uri.startsWith(PREFIX) || uri.length() == PREFIX.length()) return null;
        for (int i = PREFIX.length(); i < uri.length(); i++) {
            char c = uri.charAt(i);
            // the space's own characters only: anything encoded, nested or odd is the dispatcher's
            if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c >= 'A' && c <= 'Z')) return null;
        }
        String q = req.getQueryString();
        if (q != null && (q.contains("watch") || q.contains("meta") || q.contains("fmt=") && !q.contains("fmt=JSON"))) return null;
        String accept = req.getHeader("Accept");
        if (accept != null && !accept.equals("*/*") && !accept.equals("application/json")) return null;
        return uri.substring(PREFIX.length());
    }
}
