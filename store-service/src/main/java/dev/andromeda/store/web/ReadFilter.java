package dev.andromeda.store.web;

import dev.andromeda.api.StoreApi;
import dev.andromeda.api.model.StoredObject;
import dev.andromeda.common.security.Callers;
import dev.andromeda.common.security.InternalIdentityFilter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.core.Ordered;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.filter.ServerHttpObservationFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * The store's two most frequent reads — the JSON page of a query ({@code GET /fs/{space}?…}) and
 * one object ({@code GET /fs/{space}/{key}}) — answered before Spring MVC's dispatch: on a
 * 100-row page of a 1,000,000-object space, handler lookup among the generated interface's
 * mappings, argument resolution and the interceptors were ~45% of the request thread's samples
 * (JFR), more than the query. It runs after the identity filter, so the caller is known and
 * checked by the same code the dispatcher's handlers use ({@link PageController},
 * {@link ObjectReads}), and the answer is written by the same JsonMapper. Only the plain cases are
 * taken here; anything else — another format, a watch, {@code ?meta}, a version or branch, a key
 * with characters that need decoding, an Accept that is not plainly JSON, and every error (an
 * unknown space or key, a bad filter, a refused caller) — goes on to the dispatcher, which answers
 * it as before: a read has no effect, so doing it there again costs only time, on a path that is
 * not the common one.
 */
@Component
class ReadFilter extends OncePerRequestFilter implements Ordered {

    private static final String PREFIX = "/fs/";
    private final PageController pages;
    private final ObjectReads reads;
    private final JsonMapper json;
    /** What it answered itself, by route: how much of the read load skips the dispatcher. */
    private final Counter pagesAnswered, objectsAnswered;

    ReadFilter(PageController pages, ObjectReads reads, JsonMapper json, MeterRegistry meters) {
        this.pages = pages;
        this.reads = reads;
        this.json = json;
        this.pagesAnswered = answered(meters, StoreApi.PATH_QUERY_SPACE);
        this.objectsAnswered = answered(meters, StoreApi.PATH_GET_OBJECT);
    }

    static Counter answered(MeterRegistry meters, String route) {
        return Counter.builder(METRIC).tag("uri", route).description("plain reads answered before the dispatcher").register(meters);
    }

    static final String METRIC = "m31.store.reads.undispatched";

    @Override
    public int getOrder() { return InternalIdentityFilter.ORDER + 10; }

    @Override
    protected void doFilterInternal(HttpServletRequest req, HttpServletResponse resp, FilterChain chain)
            throws ServletException, IOException {
        String[] path = plainRead(req);
        if (path != null) {
            try {
                // the request's metrics carry its route, as the dispatcher's mapping would have set it
                String route = path.length == 1 ? StoreApi.PATH_QUERY_SPACE : StoreApi.PATH_GET_OBJECT;
                ServerHttpObservationFilter.findObservationContext(req).ifPresent(c -> c.setPathPattern(route));
                if (path.length == 1) {
                    // counted before the body goes out: the client may read it before the write returns
                    pages.write(path[0], req.getParameter("fmt"), req.getParameter("sort"), req, resp, pagesAnswered::increment);
                } else {
                    StoredObject o = reads.read(path[0], path[1], null, null, Callers.of(req));
                    byte[] body = json.writeValueAsBytes(o);
                    resp.setStatus(200);
                    resp.setContentType("application/json");
                    resp.setHeader("ETag", ObjectReads.etag(o.getVersion()));
                    resp.setContentLength(body.length);
                    objectsAnswered.increment();
                    resp.getOutputStream().write(body);
                }
                return;
            } catch (RuntimeException e) {
                if (resp.isCommitted()) throw e;
                resp.reset(); // nothing was sent: the dispatcher answers it, with its problem details
            }
        }
        chain.doFilter(req, resp);
    }

    /** {space} of a plain JSON page request, {space, key} of a plain object read, else null. */
    static String[] plainRead(HttpServletRequest req) {
        if (!"GET".equals(req.getMethod())) return null;
        String uri = req.getRequestURI();
        if (!uri.startsWith(PREFIX)) return null;
        int slash = -1;
        for (int i = PREFIX.length(); i < uri.length(); i++) {
            char c = uri.charAt(i);
            if (c == '/' && slash < 0 && i > PREFIX.length() && i < uri.length() - 1) {
                slash = i;
                continue;
            }
            // the characters of a space and of a key that need no decoding; anything encoded, nested
            // or odd is the dispatcher's
            boolean plain = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c >= 'A' && c <= 'Z'
                    || slash > 0 && (c == '.' || c == '~');
            if (!plain) return null;
        }
        if (uri.length() == PREFIX.length()) return null;
        String accept = req.getHeader("Accept");
        if (accept != null && !accept.equals("*/*") && !accept.equals("application/json")) return null;
        String q = req.getQueryString();
        if (slash > 0) {
            // a version or a branch (or anything else asked of one object) goes the generic way
            return q == null ? new String[] {uri.substring(PREFIX.length(), slash), uri.substring(slash + 1)} : null;
        }
        if (q != null && (q.contains("watch") || q.contains("meta") || q.contains("fmt=") && !q.contains("fmt=JSON"))) return null;
        return new String[] {uri.substring(PREFIX.length())};
    }
}
