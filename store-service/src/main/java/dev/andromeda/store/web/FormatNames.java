package dev.andromeda.store.web;

import dev.andromeda.common.security.InternalIdentityFilter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.springframework.core.Ordered;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * {@code fmt=json}, {@code fmt=ndjson}, {@code fmt=csv} are {@code JSON}, {@code NDJSON},
 * {@code CSV}: format names are not case-sensitive (as SQL's keywords are not), so the request
 * goes on with the name in the form the routes and {@link ReadFilter} match. Before the read
 * filter; anything else is left as it came (an unknown format is the 400 it always was).
 */
@Component
class FormatNames extends OncePerRequestFilter implements Ordered {

    private static final Set<String> NAMES = Set.of("JSON", "NDJSON", "CSV");

    @Override
    public int getOrder() { return InternalIdentityFilter.ORDER + 5; }

    @Override
    protected void doFilterInternal(HttpServletRequest req, HttpServletResponse resp, FilterChain chain)
            throws ServletException, IOException {
        String q = req.getQueryString();
        String fmt = q != null && q.contains("fmt=") && "GET".equals(req.getMethod()) ? req.getParameter("fmt") : null;
        String canonical = fmt == null ? null : fmt.toUpperCase(Locale.ROOT);
        if (canonical == null || canonical.equals(fmt) || !NAMES.contains(canonical)) {
            chain.doFilter(req, resp);
            return;
        }
        String query = q.replaceAll("(^|&)fmt=[^&]*", "$1fmt=" + canonical);
        chain.doFilter(new HttpServletRequestWrapper(req) {
            @Override public String getQueryString() { return query; }
            @Override public String getParameter(String name) { return "fmt".equals(name) ? canonical : super.getParameter(name); }
            @Override public String[] getParameterValues(String name) {
                return "fmt".equals(name) ? new String[] {canonical} : super.getParameterValues(name);
            }
            @Override public Map<String, String[]> getParameterMap() {
                Map<String, String[]> m = new LinkedHashMap<>(super.getParameterMap());
                m.put("fmt", new String[] {canonical});
                return m;
            }
        }, resp);
    }
}
