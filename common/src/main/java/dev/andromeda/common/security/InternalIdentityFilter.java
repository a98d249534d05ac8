package dev.andromeda.common.security;

import dev.andromeda.common.problem.ProblemAdvice;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.core.Ordered;
import org.springframework.http.MediaType;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Lets through only requests whose {@link InternalIdentity#HEADER} is signed with this
 * constellation's internal key, made for this very method and path, unexpired and never seen
 * before; everything else is a 401 problem, before any controller runs. The verified
 * {@link Caller} is kept as a request attribute ({@link Callers#of}). Health probes are open.
 * Registered for every servlet service by {@code CommonAutoConfiguration} when
 * {@code m31.internal.key} is set; with {@code m31.internal.require=false} an unsigned request is
 * let through without a caller (a signed one is still checked), for callers not yet signing.
 */
public class InternalIdentityFilter extends OncePerRequestFilter implements Ordered {

    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 20;
    /** Request attribute set on every request this filter saw: identities are checked in this service. */
    public static final String ACTIVE_ATTR = InternalIdentityFilter.class.getName() + ".active";

    private final InternalIdentity identity;
    private final ReplayGuard replays;
    private final boolean required;
    private final JsonMapper json;

    public InternalIdentityFilter(InternalIdentity identity, ReplayGuard replays, boolean required, JsonMapper json) {
        this.identity = identity;
        this.replays = replays;
        this.required = required;
        this.json = json;
    }

    @Override
    public int getOrder() { return ORDER; }

    @Override
    protected void doFilterInternal(HttpServletRequest req, HttpServletResponse resp, FilterChain chain)
            throws ServletException, IOException {
        String path = req.getRequestURI();
        req.setAttribute(ACTIVE_ATTR, Boolean.TRUE);
        if (isOpen(path)) {
            chain.doFilter(req, resp);
            return;
        }
        var headers = req.getHeaders(InternalIdentity.HEADER);
        String header = headers.hasMoreElements() ? headers.nextElement() : null;
        if (header != null && headers.hasMoreElements()) {
            refuse(req, resp, "only one " + InternalIdentity.HEADER + " header is allowed");
            return;
        }
        if (header == null && !required) {
            chain.doFilter(req, resp);
            return;
        }
        InternalIdentity.Verified v;
        try {
            v = identity.verify(header, req.getMethod(), path);
        } catch (InternalIdentity.Invalid e) {
            refuse(req, resp, e.getMessage());
            return;
        }
        if (!replays.firstUse(v.nonce(), v.expiresAtMillis())) {
            refuse(req, resp, "the " + InternalIdentity.HEADER + " header was already used (a replay)");
            return;
        }
        req.setAttribute(Caller.ATTRIBUTE, v.caller());
        chain.doFilter(req, resp);
    }

    static boolean isOpen(String path) {
        return path.equals("/actuator/health") || path.startsWith("/actuator/health/");
    }

    private void refuse(HttpServletRequest req, HttpServletResponse resp, String detail) throws IOException {
        resp.setStatus(401);
        resp.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        resp.setHeader("Cache-Control", "no-store");
        resp.getOutputStream().write(json.writeValueAsBytes(
                ProblemAdvice.problem(401, "unauthenticated-caller", detail, InternalIdentity.HEADER, req.getRequestURI())));
    }
}
